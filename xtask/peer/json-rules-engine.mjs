// The matching benchmark's peer: json-rules-engine evaluating the same 10,000
// rules on the same events, written by the matching bench as
// matching-workload.json (each event as the facts tocsin's conditions read).
// Usage: node json-rules-engine.mjs WORKLOAD SECONDS; prints one JSON line.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(process.env.JRE_MODULES + "/");
const { Engine } = require("json-rules-engine");

const [workloadPath, secondsArg] = process.argv.slice(2);
const workload = JSON.parse(readFileSync(workloadPath, "utf8"));
const seconds = Number(secondsArg || "10");

const fold = (v) => (typeof v === "string" ? v.toLowerCase() : JSON.stringify(v));
const text = (v) => (v === null || v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v));
const num = (v) => (typeof v === "number" ? v : Number.parseFloat(v));

// tocsin's operators, as json-rules-engine custom operators.
const operators = {
  equals: (a, b) => a !== null && a !== undefined && fold(a) === fold(b),
  contains: (a, b) => text(a).toLowerCase().includes(String(b).toLowerCase()),
  greater: (a, b) => Number.isFinite(num(a)) && num(a) > num(b),
  less: (a, b) => Number.isFinite(num(a)) && num(a) < num(b),
  "is-true": (a) => a === true || a === "true",
  "one-of": (a, b) => a !== null && a !== undefined && b.some((x) => fold(x) === fold(a)),
  between: (a, b) => typeof a === "string" && a !== "" && a >= b[0] && a < b[1],
  "is-set": (a) => a !== null && a !== undefined && a !== "",
};

const engine = new Engine([], { allowUndefinedFacts: true });
for (const [name, fn] of Object.entries(operators)) {
  engine.addOperator(name, fn);
}
workload.rules.forEach((rule, n) => {
  const all = [
    { fact: "category", operator: "equal", value: rule.category },
    { fact: "event_type", operator: "equal", value: rule.event_type },
  ];
  for (const c of rule.conditions) {
    if (!(c.op in operators)) {
      throw new Error(`rule ${n}: no json-rules-engine operator for ${c.op}`);
    }
    all.push({ fact: c.field, operator: c.op, value: c.value ?? null });
  }
  engine.addRule({ conditions: { all }, event: { type: `r${n}` } });
});

// A rule fires for an event when it holds for any of its items.
async function fired(items) {
  const names = new Set();
  for (const facts of items) {
    const { events } = await engine.run(facts);
    for (const e of events) names.add(e.type);
  }
  return names.size;
}

// The same answers as tocsin on the first events, or the figure means nothing.
const checked = Math.min(10, workload.events.length);
let disagreements = 0;
for (let i = 0; i < checked; i++) {
  if ((await fired(workload.events[i])) !== workload.firings[i]) disagreements += 1;
}

let done = 0;
const start = process.hrtime.bigint();
const elapsed = () => Number(process.hrtime.bigint() - start) / 1e9;
while (elapsed() < seconds) {
  await fired(workload.events[done % workload.events.length]);
  done += 1;
}
console.log(JSON.stringify({ per_second: done / elapsed(), events: done, checked, disagreements }));
