/* libFuzzer target of the XML body parser (src/rest/xml.c): any input is
 * parsed under a schema with every kind of field, and what parses is
 * written back out and parsed again. `make fuzz`, then
 * build/fuzz/fuzz_xml -max_total_time=60 */
#include "rest/xml.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const struct jv_field count = {.type = JV_INT};
static const struct jv_field any = {.type = JV_ANY};
static const struct jv_field text = {.type = JV_STRING};
static const struct jv_field inner_fields[] = {
    {.name = "port", .type = JV_INT},
    {.name = "path", .type = JV_STRING},
    {.name = NULL},
};
static const struct jv_field inner = {.type = JV_OBJECT, .fields = inner_fields};
static const struct jv_field fields[] = {
    {.name = "name", .type = JV_STRING},
    {.name = "enabled", .type = JV_BOOL},
    {.name = "vcpu", .type = JV_NUMBER},
    {.name = "instances", .type = JV_MAP, .item = &count},
    {.name = "params", .type = JV_MAP, .item = &any},
    {.name = "tags", .type = JV_ARRAY, .item = &text},
    {.name = "ports", .type = JV_ARRAY, .item = &inner},
    {.name = "ready", .type = JV_OBJECT, .fields = inner_fields},
    {.name = NULL},
};
static const struct jv_field schema = {.type = JV_OBJECT, .fields = fields};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jv_error err;
    json_t *doc = NULL, *again = NULL;
    char *xml;

    if (xml_to_json((const char *)data, size, &schema, &doc, &err) != 0)
        return 0;
    xml = xml_from_json(doc, "doc");
    if (xml_to_json(xml, strlen(xml), &schema, &again, &err) != 0)
        abort(); /* what we write must parse */
    json_decref(again);
    free(xml);
    json_decref(doc);
    return 0;
}
