/**
 * The report's HTML: one self-contained page (styles inline, charts as inline SVG, no script, no URL), a grid of
 * cards that collapses to one column on a phone. Every text that comes from data passes through `escapeHtml`:
 * audience names are user text and must never become markup.
 */

/** HTML-escapes text for element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Marks markup built here as safe to place without escaping (everything else is escaped). */
export class Html {
  constructor(readonly markup: string) {}
  toString(): string {
    return this.markup;
  }
}

/** A tagged template whose interpolations are escaped unless they are Html (or arrays of it). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += piece(v) + strings[i + 1]!;
  });
  return new Html(out);
}

function piece(v: unknown): string {
  if (v instanceof Html) return v.markup;
  if (Array.isArray(v)) return v.map(piece).join('');
  if (v === null || v === undefined || v === false) return '';
  return escapeHtml(String(v));
}

/** A number as shown: counts whole, every other figure with two decimals, a dash for null. */
export function formatNumber(v: number | null, digits: number): string {
  if (v === null || v === undefined) return '—';
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/**
 * A number in the page, with its exact value and what it is in data attributes (data-metric and whatever else
 * names it, e.g. data-period or data-audience), so a test or a scraper reads the figure, not the formatting.
 */
export function figure(value: number | null, text: string, attrs: Record<string, string>): Html {
  const data = Object.entries(attrs)
    .map(([k, v]) => ` data-${k}="${escapeHtml(v)}"`)
    .join('');
  const raw = value === null || value === undefined ? 'null' : String(value);
  return new Html(`<td class="num"${data} data-value="${raw}">${escapeHtml(text)}</td>`);
}

/** A figure shown with `digits` decimals (counts whole, amounts and percentages with two). */
export function num(value: number | null, digits: number, attrs: Record<string, string>): Html {
  return figure(value, formatNumber(value, digits), attrs);
}

/** A table that scrolls sideways inside its card on a narrow screen (the page itself never does). */
export function table(head: string[], rows: Html[]): Html {
  return html`<div class="scroll"><table><thead><tr>${head.map((h) => html`<th>${h}</th>`)}</tr></thead><tbody>${rows}</tbody></table></div>`;
}

/** A card of the page; a wide one spans the whole grid row (long tables). */
export function section(id: string, title: string, intro: string, body: Html | Html[], wide = false): Html {
  return html`<section id="${id}" class="${wide ? 'wide' : ''}"><h2>${title}</h2><p class="intro">${intro}</p>${body}</section>`;
}

export function chart(svg: string, caption: string): Html {
  return html`<figure class="chart">${new Html(svg)}<figcaption>${caption}</figcaption></figure>`;
}

export function page(title: string, subtitle: string, body: Html[]): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style></head>
<body><header><h1>${escapeHtml(title)}</h1><p>${escapeHtml(subtitle)}</p></header>
<main>${body.map(String).join('\n')}</main></body></html>
`;
}

const CSS = `
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2430;background:#f5f7fa}
header{padding:20px 24px 8px}h1{margin:0;font-size:1.5rem}header p{margin:4px 0 0;color:#5a6472}
main{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,520px),1fr));gap:16px;padding:16px 24px 32px}
section{background:#fff;border:1px solid #e1e5eb;border-radius:8px;padding:16px;min-width:0}
section.wide{grid-column:1/-1}
h2{margin:0 0 4px;font-size:1.15rem}.intro{margin:0 0 12px;color:#5a6472;font-size:.9rem}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,420px),1fr));gap:12px}
figure{margin:0 auto;width:100%;max-width:880px}figure svg{display:block;width:100%;height:auto;max-width:100%}
figcaption{font-size:.8rem;color:#5a6472;text-align:center}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%;font-size:.85rem}
th,td{padding:4px 8px;border-bottom:1px solid #edf0f4;text-align:left;white-space:nowrap}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.text{white-space:normal;overflow-wrap:anywhere;min-width:24ch}
td.name{white-space:normal;overflow-wrap:anywhere;min-width:18ch;max-width:40ch}
td.note{min-width:44ch;color:#5a6472;font-size:.8rem}
.bad{color:#b3261e}.warn{color:#8a5a00}.empty{color:#5a6472;font-style:italic}
ul.warnings{margin:0;padding-left:20px;color:#8a5a00;font-size:.85rem}
@media (max-width:600px){header,main{padding-left:10px;padding-right:10px}section{padding:12px}}
`;
