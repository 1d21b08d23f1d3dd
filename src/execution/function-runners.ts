/**
 * The tiny programs that run a module's exported function or a Python function in a child process,
 * so a timeout can kill them like any script. Inputs and results travel as JSON files named by
 * `ORCHESTRATOR_FN_INPUT` and `ORCHESTRATOR_FN_RESULT`. They are passed inline (`node -e`,
 * `python -c`) so they work from the bundled CLI as well as from the library.
 */
export const NODE_FUNCTION_RUNNER = `
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const input = JSON.parse(readFileSync(process.env.ORCHESTRATOR_FN_INPUT, 'utf8'));
const write = (data) => writeFileSync(process.env.ORCHESTRATOR_FN_RESULT, JSON.stringify(data));
let out;
try {
  const mod = await import(pathToFileURL(input.module).href);
  if (!(input.export in mod)) {
    const names = Object.keys(mod).sort();
    const listed = names.length === 0 ? 'it has none' : 'its exports: ' + names.slice(0, 20).join(', ') + (names.length > 20 ? ', ...' : '');
    throw new TypeError(input.module + ' has no ' + (input.export === 'default' ? 'default export' : 'export "' + input.export + '"') + ' (' + listed + ')');
  }
  const fn = input.export === 'default' ? (mod.default ?? mod) : mod[input.export];
  if (typeof fn !== 'function') throw new TypeError('export "' + input.export + '" of ' + input.module + ' is not a function (it is ' + (fn === null ? 'null' : typeof fn) + ')');
  const value = await fn(...input.args);
  out = { ok: true, value: value === undefined ? null : value };
} catch (error) {
  out = { ok: false, name: error?.name ?? 'Error', message: String(error?.message ?? error), stack: String(error?.stack ?? '') };
}
try { write(out); } catch (error) { write({ ok: false, name: 'TypeError', message: 'return value is not JSON-serialisable: ' + error.message }); }
if (!out.ok) { console.error(out.stack || out.message); process.exitCode = 1; }
`;

export const PYTHON_FUNCTION_RUNNER = `
import importlib, json, os, sys, traceback
with open(os.environ["ORCHESTRATOR_FN_INPUT"]) as f:
    inp = json.load(f)
for p in reversed(inp["path"]):
    sys.path.insert(0, p)
module_name, _, function_name = inp["target"].partition(":")
try:
    fn = importlib.import_module(module_name)
    for part in function_name.split("."):
        fn = getattr(fn, part)
    out = {"ok": True, "value": fn(*inp["args"], **inp["kwargs"])}
except BaseException as error:
    out = {"ok": False, "name": type(error).__name__, "message": str(error), "stack": traceback.format_exc()}
try:
    # allow_nan=False: NaN and Infinity are not JSON, and the reader would reject the whole file.
    data = json.dumps(out, allow_nan=False)
except (TypeError, ValueError) as error:
    out = {"ok": False, "name": "TypeError", "message": "return value is not JSON-serialisable: %s" % error, "stack": ""}
    data = json.dumps(out)
with open(os.environ["ORCHESTRATOR_FN_RESULT"], "w") as f:
    f.write(data)
if not out["ok"]:
    sys.stderr.write(out["stack"] or out["message"])
    sys.exit(1)
`;
