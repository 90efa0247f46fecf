// Prints the one closing line CI reads: "N passed, N failed, N skipped". A file that fails to load
// (no test inside it ran) counts as one failure, so a broken import can never look like a pass.
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = unhandledErrors.length;
    let skipped = 0;
    for (const mod of testModules) {
      if (mod.errors().length > 0) failed += 1;
      // A failing beforeAll/afterAll belongs to its suite; its tests then show as skipped.
      for (const suite of mod.children.allSuites()) if (suite.errors().length > 0) failed += 1;
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed += 1;
        else if (state === 'failed') failed += 1;
        else skipped += 1;
      }
    }
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
