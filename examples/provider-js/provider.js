// An external provider for tocsin, written in JavaScript.
//
// It exports the two functions of the `external-provider` world in
// wit/plugin.wit. WIT names become camelCase (`event-type` -> `eventType`);
// a `result<T, E>` is returned as T, or thrown as E.
//
// What it answers, for the first item of the request:
//   cf.subject_words = `<settings.prefix or "W">-<number of words in its subject>`
// and a permanent failure when the item has no subject.

import logging from "tocsin:plugin/logging@0.1.0";

export function describe() {
  return {
    id: "provider-js",
    version: "0.1.0",
    description: "Counts the words of the item's subject (a provider in JavaScript)",
  };
}

export function notify(request) {
  const settings = JSON.parse(request.settings);
  const prefix = typeof settings.prefix === "string" ? settings.prefix : "W";
  const item = request.items[0];
  if (item === undefined) {
    return [];
  }
  const fields = JSON.parse(item.fields);
  if (typeof fields.subject !== "string") {
    // The `failure` record of the WIT result's error case.
    throw {
      kind: "permanent",
      message: `${item.kind} ${item.id} has no subject to count`,
      retryAfterMs: null,
    };
  }
  const words = fields.subject.split(/\s+/).filter((w) => w.length > 0).length;
  logging.log("info", `${item.kind} ${item.id}: ${words} word(s) in the subject`);
  return [{ key: "cf.subject_words", value: `${prefix}-${words}` }];
}
