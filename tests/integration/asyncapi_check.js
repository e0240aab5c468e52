// asyncapi_check.js — validates an AsyncAPI document with the official parser
// (@asyncapi/parser: the AsyncAPI 3 JSON Schema, the bindings' schemas, $ref resolution
// and the spec's rules). Run by test_asyncapi.c:
//   node asyncapi_check.js <folder where ops/setup installed the parser> <document.json>
// Prints every error and warning and a last line "valid: C channels, O operations, M
// messages"; exits 1 when the parser reports an error or a warning, 2 when it cannot run.
'use strict';
const { createRequire } = require('module');
const fs = require('fs');
const path = require('path');

async function main() {
  const [dir, file] = process.argv.slice(2);
  if (!dir || !file) {
    console.error('usage: node asyncapi_check.js PARSER_DIR DOCUMENT');
    return 2;
  }
  const { Parser } = createRequire(path.join(dir, 'package.json'))('@asyncapi/parser');
  const { document, diagnostics } = await new Parser().parse(fs.readFileSync(file, 'utf8'));
  let bad = 0;
  for (const d of diagnostics) {
    // Severity 0 error, 1 warning, 2 information (e.g. "3.1.0 exists"), 3 hint.
    if (d.severity > 1) continue;
    bad++;
    console.log(`${d.severity ? 'warning' : 'error'} ${d.code} at ${d.path.join('/')}: ${d.message}`);
  }
  if (!document || bad) return 1;
  console.log(`valid: ${document.channels().length} channels, ${document.operations().length} operations, ` +
              `${document.components().messages().length} messages`);
  return 0;
}

main().then((rc) => process.exit(rc), (e) => { console.error(e); process.exit(2); });
