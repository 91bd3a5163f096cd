/**
 * Static reference data for the demo store: the catalogue's categories, brands and product lines, which
 * categories complement which, and the names and places customers are drawn from. Contact data is fictional
 * on purpose: e-mail domains are the reserved example.* domains and US/Canadian numbers use the 555-01xx range.
 */

export interface DemoCategory {
  name: string;
  /** Relative share of orders and browsing. */
  weight: number;
  /** Bought in multiples now and then (quantity > 1). */
  consumable: boolean;
  /** Exactly five brands: brand x line gives the category's 20 products. */
  brands: [string, string, string, string, string];
  /** Exactly four product lines with a base price in USD. */
  lines: [Line, Line, Line, Line];
}

type Line = [name: string, price: number];

export const PRODUCTS_PER_CATEGORY = 20;

export const CATEGORIES: DemoCategory[] = [
  {
    name: 'Cameras',
    weight: 5,
    consumable: false,
    brands: ['Canon', 'Nikon', 'Sony', 'Fujifilm', 'Panasonic'],
    lines: [
      ['Mirrorless Camera Body', 899],
      ['Mirrorless Camera Kit 18-55mm', 1099],
      ['Compact Travel Camera', 449],
      ['Full-Frame Mirrorless Camera', 1999],
    ],
  },
  {
    name: 'Memory Cards',
    weight: 4,
    consumable: true,
    brands: ['SanDisk', 'Lexar', 'Samsung', 'Kingston', 'ProGrade'],
    lines: [
      ['SDXC UHS-I Card 64GB', 15],
      ['SDXC UHS-II Card 128GB', 49],
      ['microSDXC Card 256GB', 29],
      ['CFexpress Type B Card 256GB', 179],
    ],
  },
  {
    name: 'Camera Bags',
    weight: 2,
    consumable: false,
    brands: ['Peak Design', 'Lowepro', 'Think Tank', 'Manfrotto', 'Vanguard'],
    lines: [
      ['Everyday Sling 6L', 79],
      ['Camera Backpack 20L', 149],
      ['Messenger Camera Bag', 119],
      ['Padded Camera Insert', 49],
    ],
  },
  {
    name: 'Tripods',
    weight: 2,
    consumable: false,
    brands: ['Manfrotto', 'Peak Design', 'Gitzo', 'Benro', 'Joby'],
    lines: [
      ['Aluminium Travel Tripod', 199],
      ['Carbon Fibre Travel Tripod', 379],
      ['Tabletop Tripod', 39],
      ['Ball Head', 89],
    ],
  },
  {
    name: 'Laptops',
    weight: 5,
    consumable: false,
    brands: ['Dell', 'Lenovo', 'HP', 'ASUS', 'Acer'],
    lines: [
      ['13" Ultrabook', 999],
      ['14" Business Laptop', 1249],
      ['15.6" Everyday Laptop', 649],
      ['16" Creator Laptop', 1799],
    ],
  },
  {
    name: 'Laptop Sleeves',
    weight: 2,
    consumable: false,
    brands: ['Incase', 'Tomtoc', 'Bellroy', 'Targus', 'Herschel'],
    lines: [
      ['13" Laptop Sleeve', 39],
      ['14" Laptop Sleeve', 44],
      ['15.6" Padded Sleeve', 49],
      ['16" Laptop Backpack', 89],
    ],
  },
  {
    name: 'Computer Mice',
    weight: 3,
    consumable: false,
    brands: ['Logitech', 'Razer', 'Microsoft', 'Corsair', 'SteelSeries'],
    lines: [
      ['Wireless Mouse', 29],
      ['Ergonomic Vertical Mouse', 59],
      ['Gaming Mouse', 69],
      ['Travel Mouse', 24],
    ],
  },
  {
    name: 'Smartphones',
    weight: 6,
    consumable: false,
    brands: ['Samsung', 'Google', 'Motorola', 'OnePlus', 'Nothing'],
    lines: [
      ['Smartphone 128GB', 699],
      ['Smartphone Pro 256GB', 1099],
      ['Smartphone Lite 64GB', 299],
      ['Foldable Smartphone 256GB', 1499],
    ],
  },
  {
    name: 'Phone Cases',
    weight: 4,
    consumable: false,
    brands: ['OtterBox', 'Spigen', 'Casetify', 'Speck', 'Mous'],
    lines: [
      ['Rugged Case', 49],
      ['Clear Case', 24],
      ['Leather Folio Case', 59],
      ['Slim Silicone Case', 29],
    ],
  },
  {
    name: 'Chargers & Cables',
    weight: 5,
    consumable: true,
    brands: ['Anker', 'Belkin', 'UGREEN', 'Baseus', 'Mophie'],
    lines: [
      ['65W USB-C GaN Charger', 45],
      ['20W USB-C Wall Charger', 19],
      ['USB-C to USB-C Cable 2m', 14],
      ['10,000mAh Power Bank', 34],
    ],
  },
  {
    name: 'Headphones',
    weight: 5,
    consumable: false,
    brands: ['Sony', 'Bose', 'Sennheiser', 'JBL', 'Audio-Technica'],
    lines: [
      ['Noise Cancelling Over-Ear Headphones', 349],
      ['True Wireless Earbuds', 179],
      ['On-Ear Wireless Headphones', 99],
      ['Studio Monitor Headphones', 149],
    ],
  },
  {
    name: 'Coffee Machines',
    weight: 3,
    consumable: false,
    brands: ['Breville', "De'Longhi", 'Gaggia', 'Rancilio', 'Moccamaster'],
    lines: [
      ['Espresso Machine', 599],
      ['Bean-to-Cup Coffee Machine', 899],
      ['Drip Coffee Maker', 129],
      ['Burr Coffee Grinder', 199],
    ],
  },
  {
    name: 'Coffee Beans',
    weight: 4,
    consumable: true,
    brands: ['Lavazza', 'Illy', 'Stumptown', 'Counter Culture', 'Intelligentsia'],
    lines: [
      ['Espresso Roast Whole Bean 1kg', 24],
      ['House Blend Whole Bean 340g', 14],
      ['Single Origin Ethiopia 340g', 18],
      ['Decaf Whole Bean 340g', 15],
    ],
  },
  {
    name: 'Running Shoes',
    weight: 5,
    consumable: false,
    brands: ['Nike', 'ASICS', 'Brooks', 'HOKA', 'New Balance'],
    lines: [
      ['Road Running Shoe', 139],
      ['Trail Running Shoe', 149],
      ['Carbon Racing Shoe', 229],
      ['Cushioned Daily Trainer', 159],
    ],
  },
  {
    name: 'Running Socks',
    weight: 3,
    consumable: true,
    brands: ['Balega', 'Feetures', 'Stance', 'Darn Tough', 'Injinji'],
    lines: [
      ['Cushioned Running Socks 3-Pack', 39],
      ['No-Show Running Socks', 16],
      ['Trail Crew Socks', 22],
      ['Compression Socks', 34],
    ],
  },
  {
    name: 'Tents',
    weight: 2,
    consumable: false,
    brands: ['REI Co-op', 'Big Agnes', 'MSR', 'NEMO', 'Coleman'],
    lines: [
      ['2-Person Backpacking Tent', 299],
      ['4-Person Camping Tent', 399],
      ['Ultralight 1-Person Tent', 449],
      ['6-Person Family Tent', 549],
    ],
  },
  {
    name: 'Sleeping Bags',
    weight: 2,
    consumable: false,
    brands: ['Therm-a-Rest', 'Sea to Summit', 'Marmot', 'Kelty', 'Mountain Hardwear'],
    lines: [
      ['Down Sleeping Bag 20°F', 329],
      ['Synthetic Sleeping Bag 30°F', 149],
      ['Insulated Sleeping Pad', 129],
      ['Camping Pillow', 39],
    ],
  },
  {
    name: 'Headlamps',
    weight: 2,
    consumable: false,
    brands: ['Black Diamond', 'Petzl', 'Nitecore', 'Fenix', 'Ledlenser'],
    lines: [
      ['Rechargeable Headlamp 400lm', 49],
      ['Compact Headlamp 300lm', 34],
      ['Trail Running Headlamp 900lm', 119],
      ['Kids Headlamp', 24],
    ],
  },
  {
    name: 'Kitchen Knives',
    weight: 3,
    consumable: false,
    brands: ['Wüsthof', 'Victorinox', 'Shun', 'Global', 'Zwilling'],
    lines: [
      ['8" Chef\'s Knife', 149],
      ['3.5" Paring Knife', 39],
      ['7-Piece Knife Block Set', 399],
      ['7" Santoku Knife', 129],
    ],
  },
  {
    name: 'Cutting Boards',
    weight: 2,
    consumable: false,
    brands: ['John Boos', 'OXO', 'Epicurean', 'Totally Bamboo', 'Teakhaus'],
    lines: [
      ['Maple Cutting Board 18x12', 119],
      ['Bamboo Cutting Board Set', 34],
      ['Composite Cutting Board', 44],
      ['End-Grain Butcher Block', 179],
    ],
  },
];

/**
 * Which categories are bought together. `declared` pairs are written to product_complements (the merchant
 * maintains them); the others exist only in baskets, so basket mining has to find them.
 */
export const COMPLEMENTS: Array<[category: string, complement: string, declared: boolean]> = [
  ['Cameras', 'Memory Cards', true],
  ['Cameras', 'Camera Bags', true],
  ['Cameras', 'Tripods', true],
  ['Laptops', 'Laptop Sleeves', true],
  ['Laptops', 'Computer Mice', true],
  ['Smartphones', 'Phone Cases', false],
  ['Smartphones', 'Chargers & Cables', false],
  ['Coffee Machines', 'Coffee Beans', false],
  ['Running Shoes', 'Running Socks', false],
  ['Tents', 'Sleeping Bags', false],
  ['Tents', 'Headlamps', false],
  ['Kitchen Knives', 'Cutting Boards', false],
];

// biome-ignore format: a compact list reads better than one name per line
export const FIRST_NAMES = [
  'James', 'Mary', 'Michael', 'Patricia', 'Robert', 'Jennifer', 'David', 'Linda', 'William', 'Elizabeth',
  'Christopher', 'Sarah', 'Daniel', 'Jessica', 'Matthew', 'Karen', 'Anthony', 'Emily', 'Joshua', 'Ashley',
  'Andrew', 'Michelle', 'Kevin', 'Amanda', 'Brian', 'Melissa', 'Ryan', 'Stephanie', 'Jacob', 'Nicole',
  'José', 'María', 'Zoë', 'Chloé', 'Renée', 'François', 'Jürgen', 'Björn', 'Inés', 'Héctor', 'Lucía',
  'Noémie', 'André', 'Siobhán', 'Søren', 'Mía', 'Raphaël', 'Élodie', 'Ahmed', 'Fatima', 'Wei', 'Mei',
  'Hiroshi', 'Yuki', 'Priya', 'Arjun', 'Olumide', 'Amara', 'Mateo', 'Sofía', 'Liam', 'Olivia', 'Noah',
  'Emma', 'Ethan', 'Ava', 'Lucas', 'Isabella', 'Mason', 'Harper',
];

// biome-ignore format: a compact list reads better than one name per line
export const LAST_NAMES = [
  'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Miller', 'Davis', 'Wilson', 'Anderson', 'Taylor',
  'Thomas', 'Moore', 'Jackson', 'Martin', 'Lee', 'Thompson', 'White', 'Harris', 'Clark', 'Lewis', 'García',
  'Rodríguez', 'Martínez', 'Hernández', 'López', 'González', 'Pérez', 'Sánchez', 'Ramírez', 'Núñez',
  'Peña', 'Muñoz', 'Müller', 'Schröder', 'Lefèvre', 'Dubois', 'Bélanger', 'Côté', "O'Brien", "O'Connor",
  'Kowalski', 'Nowak', 'Nguyen', 'Tran', 'Kim', 'Park', 'Chen', 'Wang', 'Patel', 'Shah', 'Okafor',
  'Adeyemi', 'Rossi', 'Bianchi', 'Johansson', 'Larsen', 'Van der Berg', 'De la Cruz', 'McDonald', 'Walsh',
];

export interface DemoPlace {
  city: string;
  state: string;
  /** ISO 3166-1 alpha-2 code; some customers carry the full name instead. */
  country: string;
  countryName: string;
  /** US/DE/FR: first postal code of the city (numeric); CA/GB: the outward code. */
  postal: string;
  /** NANP area code for US/CA, city dialling code elsewhere. */
  area: string;
  weight: number;
}

function us(city: string, state: string, zip: string, area: string, weight: number): DemoPlace {
  return { city, state, country: 'US', countryName: 'United States', postal: zip, area, weight };
}

export const PLACES: DemoPlace[] = [
  us('New York', 'NY', '10001', '212', 9),
  us('Brooklyn', 'NY', '11201', '718', 5),
  us('Los Angeles', 'CA', '90012', '213', 8),
  us('San Francisco', 'CA', '94102', '415', 6),
  us('San Diego', 'CA', '92101', '619', 4),
  us('San José', 'CA', '95113', '408', 3),
  us('Seattle', 'WA', '98101', '206', 5),
  us('Portland', 'OR', '97201', '503', 4),
  us('Chicago', 'IL', '60601', '312', 7),
  us('Austin', 'TX', '78701', '512', 5),
  us('Houston', 'TX', '77002', '713', 5),
  us('Dallas', 'TX', '75201', '214', 4),
  us('Denver', 'CO', '80202', '303', 4),
  us('Boston', 'MA', '02108', '617', 5),
  us('Miami', 'FL', '33101', '305', 4),
  us('Atlanta', 'GA', '30303', '404', 4),
  us('Phoenix', 'AZ', '85003', '602', 3),
  us('Minneapolis', 'MN', '55401', '612', 3),
  us('Philadelphia', 'PA', '19102', '215', 4),
  us('Nashville', 'TN', '37201', '615', 3),
  us('Salt Lake City', 'UT', '84101', '801', 2),
  us('Raleigh', 'NC', '27601', '919', 2),
  us('Madison', 'WI', '53703', '608', 1),
  us('Burlington', 'VT', '05401', '802', 1),
  us('Santa Fe', 'NM', '87501', '505', 1),
  us('Honolulu', 'HI', '96813', '808', 1),
  us('Anchorage', 'AK', '99501', '907', 1),
  us('New Orleans', 'LA', '70112', '504', 2),
  us('Columbus', 'OH', '43215', '614', 2),
  us('Detroit', 'MI', '48226', '313', 2),
  us("Coeur d'Alene", 'ID', '83814', '208', 1),
  {
    city: 'Toronto',
    state: 'ON',
    country: 'CA',
    countryName: 'Canada',
    postal: 'M5V',
    area: '416',
    weight: 4,
  },
  {
    city: 'Montréal',
    state: 'QC',
    country: 'CA',
    countryName: 'Canada',
    postal: 'H2X',
    area: '514',
    weight: 2,
  },
  {
    city: 'Vancouver',
    state: 'BC',
    country: 'CA',
    countryName: 'Canada',
    postal: 'V6B',
    area: '604',
    weight: 2,
  },
  {
    city: 'London',
    state: '',
    country: 'GB',
    countryName: 'United Kingdom',
    postal: 'SW1A',
    area: '20',
    weight: 3,
  },
  {
    city: 'Manchester',
    state: '',
    country: 'GB',
    countryName: 'United Kingdom',
    postal: 'M1',
    area: '161',
    weight: 1,
  },
  {
    city: 'Berlin',
    state: '',
    country: 'DE',
    countryName: 'Germany',
    postal: '10115',
    area: '30',
    weight: 2,
  },
  {
    city: 'München',
    state: '',
    country: 'DE',
    countryName: 'Germany',
    postal: '80331',
    area: '89',
    weight: 1,
  },
  { city: 'Paris', state: '', country: 'FR', countryName: 'France', postal: '75001', area: '1', weight: 2 },
  { city: 'Lyon', state: '', country: 'FR', countryName: 'France', postal: '69001', area: '4', weight: 1 },
];

/** Reserved example domains only: the demo must never hold a deliverable address. */
export const EMAIL_DOMAINS = [
  'example.com',
  'example.net',
  'example.org',
  'mail.example.com',
  'shop.example',
];
