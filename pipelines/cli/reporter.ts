import { SingleBar } from 'cli-progress';
import { redact } from '../../shared/redact.ts';
import type { Reporter } from '../run.ts';

/** Human progress on stderr (stdout stays clean for --json): a line per step, a bar for long steps on a TTY. */
export function terminalReporter(stream: NodeJS.WriteStream = process.stderr, quiet = false): Reporter {
  let bar: SingleBar | undefined;
  const write = (line: string) => {
    if (!quiet) stream.write(`${line}\n`);
  };
  return {
    stepStarted(step) {
      write(`▸ ${step}`);
    },
    stepFinished(record) {
      bar?.stop();
      bar = undefined;
      const rows = record.rowsOut === undefined ? '' : `, ${record.rowsOut.toLocaleString('en-US')} rows`;
      write(`  ✓ ${record.step} (${record.seconds.toFixed(2)} s${rows})`);
    },
    progress(_step, done, total, label) {
      if (quiet || !stream.isTTY) return;
      if (!bar) {
        bar = new SingleBar({
          format: '  {bar} {value}/{total} {label}',
          stream,
          hideCursor: true,
          clearOnComplete: true,
        });
        bar.start(total, 0, { label });
      }
      bar.update(done, { label });
    },
    info(message) {
      write(`    ${redact(message)}`); // sources and destinations log messages that may quote an error
    },
  };
}
