// Mocha's spec output, closed by the plain summary line CI reads: "N passed, N failed".
const Mocha = require("mocha");

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const s = runner.stats ?? {};
      process.stdout.write(
        `\n${s.passes ?? 0} passed, ${s.failures ?? 0} failed${s.pending ? `, ${s.pending} skipped` : ""}\n`,
      );
    });
  }
}
module.exports = SummaryReporter;
