// An external provider for tocsin, written in C.
//
// It implements the two exports of the `external-provider` world in
// wit/plugin.wit, whose C declarations wit-bindgen writes to
// `external_provider.h` (`cargo xtask examples` generates it).
//
// What it answers, for the first item of the request:
//   cf.reference = `<settings.prefix or the item's kind, upper case>-<item id>`
//   (`TICKET-42`, or `ACME-42` with settings {"prefix": "acme"})
// and a permanent failure when the item has an empty id.
//
// Memory, as wit-bindgen's C bindings want it:
// - the request is ours: free it with external_provider_provider_request_free;
// - what we return is freed by the bindings after the host has copied it, so
//   every returned string is heap memory (external_provider_string_dup*), never
//   a literal (external_provider_string_set would point at read-only data).

#include "external_provider.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The value of the string member `key` of a flat JSON object, copied into
// `out` (at most `size - 1` bytes): enough for settings like {"prefix": "acme"}.
// Escapes are not decoded. Returns false when there is no such string member.
static bool json_string_member(const external_provider_string_t *json, const char *key,
                               char *out, size_t size) {
  char needle[64];
  int n = snprintf(needle, sizeof needle, "\"%s\"", key);
  if (n < 0 || (size_t)n >= sizeof needle) {
    return false;
  }
  const char *text = (const char *)json->ptr;
  const char *end = text + json->len;
  for (const char *at = text; at + n <= end; at++) {
    if (memcmp(at, needle, (size_t)n) != 0) {
      continue;
    }
    const char *p = at + n;
    while (p < end && isspace((unsigned char)*p)) p++;
    if (p == end || *p != ':') continue;
    p++;
    while (p < end && isspace((unsigned char)*p)) p++;
    if (p == end || *p != '"') continue;
    p++;
    size_t len = 0;
    while (p + len < end && p[len] != '"') len++;
    if (p + len == end || len >= size) return false;
    memcpy(out, p, len);
    out[len] = '\0';
    return true;
  }
  return false;
}

static void log_info(const char *message) {
  external_provider_string_t text;
  external_provider_string_set(&text, message);  // borrowed for the call only
  tocsin_plugin_logging_log(TOCSIN_PLUGIN_LOGGING_LEVEL_INFO, &text);
}

void exports_external_provider_describe(external_provider_provider_info_t *ret) {
  external_provider_string_dup(&ret->id, "provider-c");
  external_provider_string_dup(&ret->version, "0.1.0");
  external_provider_string_dup(&ret->description,
                               "Answers a reference made of the item's kind and id (a provider in C)");
}

bool exports_external_provider_notify(external_provider_provider_request_t *request,
                                      external_provider_list_variable_t *ret,
                                      external_provider_failure_t *err) {
  bool ok = true;
  ret->ptr = NULL;
  ret->len = 0;
  if (request->items.len == 0) {
    goto done;
  }
  const tocsin_plugin_types_item_t *item = &request->items.ptr[0];
  if (item->id.len == 0) {
    char message[160];
    snprintf(message, sizeof message, "a %.*s item has an empty id to reference",
             (int)item->kind.len, (const char *)item->kind.ptr);
    err->kind = TOCSIN_PLUGIN_TYPES_FAILURE_KIND_PERMANENT;
    external_provider_string_dup(&err->message, message);
    err->retry_after_ms.is_some = false;
    ok = false;
    goto done;
  }

  char prefix[64];
  if (!json_string_member(&request->settings, "prefix", prefix, sizeof prefix)) {
    size_t len = item->kind.len < sizeof prefix - 1 ? item->kind.len : sizeof prefix - 1;
    memcpy(prefix, item->kind.ptr, len);
    prefix[len] = '\0';
  }
  for (char *c = prefix; *c; c++) *c = (char)toupper((unsigned char)*c);

  // `<PREFIX>-<id>`: the id is not NUL-terminated, so build it with lengths.
  size_t prefix_len = strlen(prefix);
  size_t len = prefix_len + 1 + item->id.len;
  char *value = malloc(len);
  if (value == NULL) abort();
  memcpy(value, prefix, prefix_len);
  value[prefix_len] = '-';
  memcpy(value + prefix_len + 1, item->id.ptr, item->id.len);

  ret->len = 1;
  ret->ptr = malloc(sizeof *ret->ptr);
  if (ret->ptr == NULL) abort();
  external_provider_string_dup(&ret->ptr[0].key, "cf.reference");
  ret->ptr[0].value.ptr = (uint8_t *)value;  // handed over: the bindings free it
  ret->ptr[0].value.len = len;

  char message[160];
  snprintf(message, sizeof message, "%.*s %.*s: cf.reference=%.*s", (int)item->kind.len,
           (const char *)item->kind.ptr, (int)item->id.len, (const char *)item->id.ptr,
           (int)len, value);
  log_info(message);

done:
  external_provider_provider_request_free(request);
  return ok;
}
