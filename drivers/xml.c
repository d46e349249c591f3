/* xml.c - libxml2 helpers shared by the XML back-ends; see xml.h */
#include "xml.h"

#include <string.h>

#include "../spec/util.h"

xmlNodePtr nc_xml_child(xmlNodePtr parent, const char *name, const char *text)
{
	return xmlNewTextChild(parent, NULL, BAD_CAST name, text ? BAD_CAST text : NULL);
}

void nc_xml_prop(xmlNodePtr n, const char *name, const char *value)
{
	xmlNewProp(n, BAD_CAST name, BAD_CAST value);
}

char *nc_xml_doc_text(xmlDocPtr doc)
{
	xmlChar *mem = NULL;
	int len = 0;
	char *out;

	xmlDocDumpFormatMemory(doc, &mem, &len, 1);
	out = nc_xstrndup((const char *)mem, (size_t)len);
	xmlFree(mem);
	return out;
}

char *nc_xml_dump(xmlDocPtr doc, xmlNodePtr root)
{
	char *out;

	if (root)
		xmlDocSetRootElement(doc, root);
	out = nc_xml_doc_text(doc);
	xmlFreeDoc(doc);
	return out;
}

bool nc_xml_is(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

xmlNodePtr nc_xml_first(xmlNodePtr parent, const char *name)
{
	xmlNodePtr n;

	for (n = parent ? parent->children : NULL; n; n = n->next)
		if (nc_xml_is(n, name))
			return n;
	return NULL;
}

char *nc_xml_text(xmlNodePtr n)
{
	xmlChar *c;
	char *s;

	if (!n)
		return NULL;
	c = xmlNodeGetContent(n);
	s = c ? nc_xstrdup((const char *)c) : NULL;
	xmlFree(c);
	return s;
}

char *nc_xml_attr(xmlNodePtr n, const char *name)
{
	xmlChar *c;
	char *s;

	if (!n)
		return NULL;
	c = xmlGetProp(n, BAD_CAST name);
	s = c ? nc_xstrdup((const char *)c) : NULL;
	xmlFree(c);
	return s;
}
