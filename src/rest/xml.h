/* XML bodies of the native REST API (seed para 46-47, Tables 3-4, F3).
 *
 * One generic mapping between JSON documents and XML documents, so that
 * every /v0 resource speaks both with the same semantics and the same
 * validation (the JSON schema of the route):
 *
 *   {"name": "xyz", "enabled": true}      <tenant><name>xyz</name>
 *                                                 <enabled>true</enabled></tenant>
 *   {"tenants": [{...}, {...}]}           <tenants><tenant>...</tenant>...</tenants>
 *   {"instances": {"web": 2}}             <instances><web>2</web></instances>
 *
 * XML to JSON is guided by the route's schema: a field declared an integer,
 * number or boolean becomes one when its text parses as such (otherwise it
 * stays a string and validation names the field), arrays are the element
 * children of their element whatever their names, maps take their keys from
 * the children's names (or their key="..." attribute). Free-form values
 * (JV_ANY, e.g. deployment params) are inferred: true/false, numbers,
 * strings; type="string|integer|number|boolean" on the element forces one,
 * and a list is written as <item> children. xsi:nil="true" is null.
 * Namespaces are accepted and ignored (Table 3 uses the NETCONF one); DTDs
 * are refused.
 *
 * JSON to XML: the root element is named by the caller; members become
 * elements in document order (null members are left out), arrays become an
 * element whose children are named by the singular of the array's name
 * ("tenants" -> "tenant", else "item"); a key that is no XML name becomes
 * <entry key="...">. No namespace, as in Table 4.
 */
#ifndef VNFM_API_XML_H
#define VNFM_API_XML_H

#include "util/jsonv.h"

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define XML_MEDIA_TYPE "application/xml; charset=UTF-8"

/* Whether a Content-Type or Accept value names XML (application/xml,
 * text/xml, anything+xml). */
bool xml_media(const char *value);

/* Parses text (len bytes) into a JSON value shaped by schema (NULL: all
 * inferred). Returns 0 and *out (a new reference), or -EINVAL with err set:
 * reason "bad-xml" for a document that is not well-formed or not accepted,
 * "invalid-value" for a duplicate element. *out is untouched on error. */
int xml_to_json(const char *text, size_t len, const struct jv_field *schema, json_t **out,
                struct jv_error *err);

/* Serializes doc (any JSON value) as an XML document with root element
 * root. Returns the text (malloc'd, caller frees). */
char *xml_from_json(const json_t *doc, const char *root);

/* The root element for an answer: the member of a list answer
 * ({"tenants": [...]} -> "tenants", *list set), else fallback. */
const char *xml_root_of(const json_t *doc, const char *fallback, bool *list);

/* Writes into buf (size >= 64) the singular of name: "tenants" -> "tenant",
 * "vis" -> "vi"; "item" when name has no plural 's'. Returns buf. */
char *xml_singular(const char *name, char *buf, size_t size);

#endif
