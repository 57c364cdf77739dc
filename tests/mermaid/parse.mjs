// Parse Mermaid diagrams with Mermaid's own parser (the npm package, pinned in
// package-lock.json). Reads a JSON array of diagram texts on stdin and prints one JSON array:
// {"ok": true, "type": "<diagram type>"} or {"ok": false, "error": "<the parser's message>"}
// per diagram, in order. tests/integration/test_mermaid.py runs this.
// Mermaid sanitises text with DOMPurify, which needs a DOM: linkedom's window is enough for
// parsing (nothing is rendered), and is set up before mermaid is imported.
import { parseHTML } from "linkedom";

const dom = parseHTML("<!doctype html><html><head></head><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.document;
const { default: mermaid } = await import("mermaid");

let input = "";
for await (const chunk of process.stdin) input += chunk;
const results = [];
for (const text of JSON.parse(input)) {
  try {
    const parsed = await mermaid.parse(text);
    results.push({ ok: true, type: parsed.diagramType });
  } catch (err) {
    results.push({ ok: false, error: String(err.message ?? err) });
  }
}
process.stdout.write(JSON.stringify(results) + "\n");
