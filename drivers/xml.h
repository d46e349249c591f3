/*
 * xml.h - the small libxml2 helpers every XML back-end uses (domain XML in
 * host/domxml.c, network XML in network/libvirt-net.c): building elements
 * and attributes (text is escaped by libxml2), serialising a document, and
 * a direct walk of a parsed tree.  Strings returned are the caller's (free).
 */
#ifndef NC_DRIVERS_XML_H
#define NC_DRIVERS_XML_H

#include <stdbool.h>

#include <libxml/tree.h>

/* a new child element <name>text</name> (text NULL: empty) */
xmlNodePtr nc_xml_child(xmlNodePtr parent, const char *name, const char *text);
/* an attribute name="value" */
void nc_xml_prop(xmlNodePtr n, const char *name, const char *value);
/* doc serialised, indented (doc is kept) */
char *nc_xml_doc_text(xmlDocPtr doc);
/* makes root the document's root (root NULL: keeps it), serialises it and frees doc */
char *nc_xml_dump(xmlDocPtr doc, xmlNodePtr root);

/* n is an element called name */
bool nc_xml_is(xmlNodePtr n, const char *name);
/* the first child element of parent called name, or NULL (parent may be NULL) */
xmlNodePtr nc_xml_first(xmlNodePtr parent, const char *name);
/* n's text content, or NULL (n may be NULL) */
char *nc_xml_text(xmlNodePtr n);
/* n's attribute name, or NULL (n may be NULL) */
char *nc_xml_attr(xmlNodePtr n, const char *name);

#endif
