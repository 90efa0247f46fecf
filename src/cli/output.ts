// How subcommands print: human text by default; with --json one JSON object on the last stdout line.
export interface OutputOptions {
  json?: boolean;
}

export function printSummary(opts: OutputOptions, human: string, summary: unknown): void {
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } else {
    process.stdout.write(`${human}\n`);
  }
}
