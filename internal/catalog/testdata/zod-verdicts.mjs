// Writes zod's verdict on each input of the differential test (see differential_test.go for
// how to run it): node zod-verdicts.mjs SCHEMAS.cjs INPUTS.json > zod-verdicts.json
// SCHEMAS.cjs exports the server's zod schemas under the action names; it is not in this
// repository.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

const require = createRequire(import.meta.url);
const schemas = require(resolve(process.argv[2]));
const cases = JSON.parse(readFileSync(process.argv[3], "utf8"));
const out = cases.map((c) => {
  const r = schemas[c.action].safeParse(c.input);
  const o = { action: c.action, class: c.class, input: c.input, ok: r.success };
  if (!r.success) {
    o.issues = r.error.issues;
    // r.error.message, a run step's error, is JSON.stringify(issues, null, 2): the test
    // indents o.issues to compare with it.
    if (r.error.message !== JSON.stringify(r.error.issues, null, 2)) throw new Error("message is not the issues");
  }
  return o;
});
process.stdout.write("[\n" + out.map((o) => JSON.stringify(o)).join(",\n") + "\n]\n");
