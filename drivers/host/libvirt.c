/*
 * libvirt.c - the libvirt host driver, and the simulated host built on it.
 *
 * "libvirt" serves any libvirt URI (qemu:///system, qemu+ssh://h/system,
 * test:///default, ...).  "sim" serves sim:///NAME[?cpus=N&memory=SIZE]:
 * libvirt's test driver (a real libvirt driver that runs in-process) loaded
 * from STATE_DIR/NAME.xml and written back by commit(), so a simulated host
 * keeps its domains, their UUIDs, metadata and run state between processes.
 * A sim host holds an exclusive flock on STATE_DIR/NAME.lock while open;
 * commit() writes the whole host (under a mutex: parallel migrations commit
 * the same host) to a temporary file renamed over the state file.
 */
#include "../driver.h"

#include <errno.h>
#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../spec/model.h"
#include "../../spec/util.h"
#include "../xml.h"
#include "../storage/storage.h"
#include "migrate.h"
#include "snapshot.h"

#define TEST_NS "http://libvirt.org/schemas/domain/test/1.0"
/* a sim network's run state, kept in its <metadata> in the state file */
#define SIM_NS "https://novacron.io/xmlns/sim/1"

/* drivers/host/secret.c */
int nc_host_secrets_list(struct nc_host_conn *host, struct nc_host_secret **out, size_t *nout,
			 bool *unsupported, struct nc_err *err);
int nc_host_secret_define(struct nc_host_conn *host, const struct nc_secret_def *def, struct nc_err *err);
const char *nc_libvirt_state_file(struct nc_host_conn *host);
/* drivers/host/stats.c */
int nc_host_stats_read(struct nc_host_conn *conn, struct nc_host_stats *out, struct nc_err *err);
int nc_sim_load_tool(struct nc_host_conn *conn, int argc, char **argv, FILE *out, struct nc_err *err);

struct lv_conn {
	struct nc_host_conn pub;     /* first member: the public part */
	virConnectPtr conn;
	const char *domain_type;     /* "test", "kvm" or "qemu" */
	bool sim;
	char *state_file;            /* sim only */
	int lock_fd;                 /* sim only */
	pthread_mutex_t commit_mu;   /* sim: one writer of the state file at a time */
};

static pthread_once_t lv_once = PTHREAD_ONCE_INIT;

static void lv_quiet(void *opaque, virErrorPtr e)
{
	(void)opaque;
	(void)e;
}

static void lv_init(void)
{
	virInitialize();
	virSetErrorFunc(NULL, lv_quiet);
	xmlInitParser();
}

static int lv_fail(struct nc_err *err, const char *what)
{
	const char *m = virGetLastErrorMessage();
	size_t n;

	if (!m || !*m)
		m = "unknown libvirt error";
	/* the first line only: libxml2's messages quote the input line below it */
	n = strcspn(m, "\r\n");
	nc_err_set(err, "%s: %.*s", what, (int)(n > 300 ? 300 : n), m);
	return -1;
}

/*
 * Opening failed.  A parse error of the test driver comes from the file it
 * was told to load and may quote it (any file, as test:///etc/shadow would):
 * say only that it is not a host definition.
 */
static int lv_open_fail(struct nc_err *err, const char *what)
{
	virErrorPtr e = virGetLastError();

	if (e && (e->domain == VIR_FROM_XML || e->code == VIR_ERR_XML_ERROR ||
		  e->code == VIR_ERR_XML_DETAIL || e->code == VIR_ERR_XML_INVALID_SCHEMA)) {
		nc_err_set(err, "%s: the driver's definition file is not a valid host definition (XML error)",
			   what);
		return -1;
	}
	return lv_fail(err, what);
}

/* ---- sim state files ---- */

static int write_atomic(const char *path, const char *data, size_t len, struct nc_err *err)
{
	if (nc_write_file_atomic(path, data, len, 0600) < 0) {   /* owner only */
		nc_err_set(err, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* A test-driver node document: <node> with CPU and memory, no domains yet. */
static xmlDocPtr node_doc(unsigned cpus, uint64_t memory_kib)
{
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr node = xmlNewNode(NULL, BAD_CAST "node"), cpu;
	char num[32];

	xmlDocSetRootElement(doc, node);
	cpu = xmlNewChild(node, NULL, BAD_CAST "cpu", NULL);
	xmlNewChild(cpu, NULL, BAD_CAST "mhz", BAD_CAST "2400");
	xmlNewChild(cpu, NULL, BAD_CAST "model", BAD_CAST "x86_64");
	snprintf(num, sizeof(num), "%u", cpus);
	xmlNewChild(cpu, NULL, BAD_CAST "active", BAD_CAST num);
	xmlNewChild(cpu, NULL, BAD_CAST "nodes", BAD_CAST "1");
	xmlNewChild(cpu, NULL, BAD_CAST "sockets", BAD_CAST "1");
	xmlNewChild(cpu, NULL, BAD_CAST "cores", BAD_CAST num);
	xmlNewChild(cpu, NULL, BAD_CAST "threads", BAD_CAST "1");
	snprintf(num, sizeof(num), "%llu", (unsigned long long)memory_kib);
	xmlNewChild(node, NULL, BAD_CAST "memory", BAD_CAST num);
	return doc;
}

/* sim:///NAME?cpus=N&memory=SIZE -> NAME and the node's size */
static int sim_parse_uri(const char *uri, char **name, unsigned *cpus, uint64_t *memory,
			 struct nc_err *err)
{
	const char *p = uri + strlen("sim:///"), *q = strchr(p, '?');
	size_t n = q ? (size_t)(q - p) : strlen(p), i;

	if (strncmp(uri, "sim:///", 7) != 0 || n == 0 || n > 63) {
		nc_err_set(err, "invalid sim URI '%s' (expected sim:///NAME)", uri);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '-')) {
			nc_err_set(err, "invalid sim host name in '%s' (lower-case letters, digits, '-')", uri);
			return -1;
		}
	}
	*cpus = 16;
	*memory = 64ULL << 30;
	while (q && *q) {
		const char *kv = q + 1, *amp = strchr(kv, '&');
		char *item = nc_xstrndup(kv, amp ? (size_t)(amp - kv) : strlen(kv));
		const char *e;

		if (strncmp(item, "cpus=", 5) == 0 && atoi(item + 5) > 0) {
			*cpus = (unsigned)atoi(item + 5);
		} else if (strncmp(item, "memory=", 7) == 0 && nc_size_parse(item + 7, memory, &e) == 0 &&
			   *memory >= (1ULL << 20)) {
			/* parsed */
		} else {
			nc_err_set(err, "invalid parameter '%s' in '%s' (expected cpus=N or memory=SIZE)",
				   item, uri);
			free(item);
			return -1;
		}
		free(item);
		q = amp;
	}
	*name = nc_xstrndup(p, n);
	return 0;
}

int nc_sim_uri_parse(const char *uri, char **name, unsigned *cpus, uint64_t *memory, struct nc_err *err);
int nc_sim_uri_parse(const char *uri, char **name, unsigned *cpus, uint64_t *memory, struct nc_err *err)
{
	return sim_parse_uri(uri, name, cpus, memory, err);
}

/*
 * sim: the test driver loads every network of the state file started and
 * without autostart; the state saved by sim_save_networks() (an element in
 * the network's <metadata>) puts back what was stopped and autostarted.
 */
static void sim_restore_networks(struct lv_conn *c)
{
	virNetworkPtr *nets = NULL;
	int n = virConnectListAllNetworks(c->conn, &nets, 0), i;

	for (i = 0; i < n; i++) {
		char *xml = virNetworkGetXMLDesc(nets[i], 0);
		xmlDocPtr d = xml ? xmlReadMemory(xml, (int)strlen(xml), "network.xml", NULL,
						 XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING) : NULL;
		xmlNodePtr root = d ? xmlDocGetRootElement(d) : NULL, k, m;

		for (k = root ? root->children : NULL; k; k = k->next) {
			if (k->type != XML_ELEMENT_NODE || strcmp((const char *)k->name, "metadata") != 0)
				continue;
			for (m = k->children; m; m = m->next) {
				xmlChar *active, *autostart;

				if (m->type != XML_ELEMENT_NODE || !m->ns || !m->ns->href ||
				    strcmp((const char *)m->ns->href, SIM_NS) != 0)
					continue;
				active = xmlGetProp(m, BAD_CAST "active");
				autostart = xmlGetProp(m, BAD_CAST "autostart");
				if (active && strcmp((const char *)active, "no") == 0)
					virNetworkDestroy(nets[i]);
				if (autostart && strcmp((const char *)autostart, "yes") == 0)
					virNetworkSetAutostart(nets[i], 1);
				xmlFree(active);
				xmlFree(autostart);
			}
		}
		xmlFreeDoc(d);
		free(xml);
		virNetworkFree(nets[i]);
	}
	free(nets);
}

static int sim_open(struct lv_conn *c, const char *uri, const struct nc_driver_opts *opts,
		    struct nc_err *err)
{
	char *name = NULL, *lock = NULL, *test_uri = NULL;
	unsigned cpus;
	uint64_t memory;
	struct stat st;
	int ret = -1;

	if (sim_parse_uri(uri, &name, &cpus, &memory, err) < 0)
		return -1;
	if (!opts || !opts->state_dir || !*opts->state_dir) {
		nc_err_set(err, "sim:// hosts need a state directory (--state-dir or NOVACRON_STATE_DIR)");
		goto out;
	}
	if (nc_mkdir_p(opts->state_dir) < 0) {
		nc_err_set(err, "cannot create state directory %s: %s", opts->state_dir, strerror(errno));
		goto out;
	}
	{
		char *abs = realpath(opts->state_dir, NULL);

		if (!abs) {
			nc_err_set(err, "cannot resolve %s: %s", opts->state_dir, strerror(errno));
			goto out;
		}
		c->state_file = nc_xasprintf("%s/%s.xml", abs, name);
		lock = nc_xasprintf("%s/%s.lock", abs, name);
		/* `novacron sim HOST down`: unreachable, as a host that crashed or is cut off */
		if (nc_sim_host_down(abs, name)) {
			nc_err_set(err, "cannot connect: simulated host %s is down (novacron sim %s up "
					"brings it back)", name, name);
			free(abs);
			goto out;
		}
		free(abs);
	}
	if (nc_sim_host_down(opts->state_dir, name)) {
		nc_err_set(err, "cannot connect: host is down (novacron sim %s down)", name);
		goto out;
	}
	c->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (c->lock_fd < 0 || flock(c->lock_fd, LOCK_EX) < 0) {
		nc_err_set(err, "cannot lock %s: %s", lock, strerror(errno));
		goto out;
	}
	if (stat(c->state_file, &st) < 0) {
		xmlDocPtr doc = node_doc(cpus, memory / 1024);
		char *xml = nc_xml_doc_text(doc);
		int r = write_atomic(c->state_file, xml, strlen(xml), err);

		xmlFreeDoc(doc);
		free(xml);
		if (r < 0)
			goto out;
	}
	test_uri = nc_xasprintf("test://%s", c->state_file);
	c->conn = virConnectOpen(test_uri);
	if (!c->conn) {
		lv_open_fail(err, "cannot open simulated host");
		goto out;
	}
	c->sim = true;
	c->domain_type = "test";
	sim_restore_networks(c);
	ret = 0;
out:
	free(name);
	free(lock);
	free(test_uri);
	return ret;
}

static const char *probe_domain_type(virConnectPtr conn)
{
	char *caps = virConnectGetCapabilities(conn);
	const char *t = "qemu";

	if (caps && strstr(caps, "<domain type='kvm'"))
		t = "kvm";
	free(caps);
	return t;
}

static int lv_open(struct nc_host_conn **out, const char *uri, const struct nc_driver_opts *opts,
		   struct nc_err *err);
static int lv_migrate(struct nc_host_conn *pub, struct nc_host_conn *dpub, const char *name,
		      const struct nc_migrate_opts *o, struct nc_err *err);

static void lv_close(struct nc_host_conn *pub)
{
	struct lv_conn *c = (struct lv_conn *)pub;

	if (!c)
		return;
	if (c->conn)
		virConnectClose(c->conn);
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	free(c->state_file);
	free(c->pub.uri);
	pthread_mutex_destroy(&c->commit_mu);
	free(c);
}

static int dom_cmp(const void *a, const void *b)
{
	return strcmp(((const struct nc_domain *)a)->name, ((const struct nc_domain *)b)->name);
}

static enum nc_dom_state map_state(int st)
{
	switch (st) {
	case VIR_DOMAIN_RUNNING:
	case VIR_DOMAIN_BLOCKED:
		return NC_DOM_RUNNING;
	case VIR_DOMAIN_PAUSED:
		return NC_DOM_PAUSED;
	case VIR_DOMAIN_SHUTOFF:
	case VIR_DOMAIN_SHUTDOWN:
		return NC_DOM_SHUTOFF;
	default:
		return NC_DOM_OTHER;
	}
}

static int lv_observe(struct nc_host_conn *pub, struct nc_observed_host *out, struct nc_err *err)
{
	struct lv_conn *c = (struct lv_conn *)pub;
	struct nc_observed_host h;
	virNodeInfo ni;
	virDomainPtr *doms = NULL;
	int n, i, ret = -1;

	memset(&h, 0, sizeof(h));
	if (virNodeGetInfo(c->conn, &ni) < 0)
		return lv_fail(err, "cannot read node info");
	h.node.cpus = ni.cpus;
	h.node.memory = (uint64_t)ni.memory * 1024;
	n = virConnectListAllDomains(c->conn, &doms, 0);
	if (n < 0)
		return lv_fail(err, "cannot list domains");
	h.doms = nc_xcalloc((size_t)(n ? n : 1), sizeof(*h.doms));
	for (i = 0; i < n; i++) {
		struct nc_domain *d = &h.doms[h.ndoms];
		virDomainInfo info;
		char *xml;
		int st, reason;

		xml = virDomainGetXMLDesc(doms[i], VIR_DOMAIN_XML_INACTIVE);
		if (!xml) {
			/* the domain went away while we looked: it is simply not there */
			if (virGetLastErrorCode() == VIR_ERR_NO_DOMAIN)
				continue;
			lv_fail(err, "cannot read domain XML");
			goto out;
		}
		if (nc_domxml_parse(d, xml, err) < 0) {
			free(xml);
			goto out;
		}
		free(xml);
		h.ndoms++;
		if (virDomainGetState(doms[i], &st, &reason, 0) < 0) {
			lv_fail(err, "cannot read domain state");
			goto out;
		}
		d->state = map_state(st);
		d->persistent = virDomainIsPersistent(doms[i]) == 1;
		if (d->state == NC_DOM_RUNNING && virDomainGetInfo(doms[i], &info) == 0)
			d->cur_memory = (uint64_t)info.memory * 1024;
		if (nc_host_snaps_read(doms[i], d, err) < 0)
			goto out;
	}
	if (h.ndoms > 1)
		qsort(h.doms, h.ndoms, sizeof(*h.doms), dom_cmp);
	if (nc_host_secrets_list(pub, &h.secrets, &h.nsecrets, &h.no_secrets, err) < 0)
		goto out;
	*out = h;
	memset(&h, 0, sizeof(h));
	ret = 0;
out:
	for (i = 0; i < n; i++)
		virDomainFree(doms[i]);
	free(doms);
	nc_observed_host_release(&h);
	return ret;
}

static int lv_lookup(struct nc_host_conn *pub, const char *name, struct nc_domain *out,
		     struct nc_err *err)
{
	struct lv_conn *c = (struct lv_conn *)pub;
	virDomainPtr d = virDomainLookupByName(c->conn, name);
	virDomainInfo info;
	char *xml;
	int st, reason, ret = 1;

	if (!d)
		return virGetLastErrorCode() == VIR_ERR_NO_DOMAIN ? 0 : lv_fail(err, "cannot look up domain");
	xml = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE);
	if (!xml) {
		ret = lv_fail(err, "cannot read domain XML");
	} else if (nc_domxml_parse(out, xml, err) < 0) {
		ret = -1;
	} else if (virDomainGetState(d, &st, &reason, 0) < 0) {
		nc_domain_release(out);
		ret = lv_fail(err, "cannot read domain state");
	} else {
		out->state = map_state(st);
		out->persistent = virDomainIsPersistent(d) == 1;
		if (out->state == NC_DOM_RUNNING && virDomainGetInfo(d, &info) == 0)
			out->cur_memory = (uint64_t)info.memory * 1024;
		if (nc_host_snaps_read(d, out, err) < 0) {
			nc_domain_release(out);
			ret = -1;
		}
	}
	free(xml);
	virDomainFree(d);
	return ret;
}

/*
 * Domains are defined without autostart, and nothing here ever sets it
 * (only networks get autostart): a failed host that
 * boots again must not start its stale copies of VMs restarted elsewhere
 * before a pass can remove them (docs/ha.md).
 */
static int lv_define(struct nc_host_conn *pub, const struct nc_domain_def *def, struct nc_err *err)
{
	struct lv_conn *c = (struct lv_conn *)pub;
	virDomainPtr d;
	char *xml;

	if (nc_driver_fault("define", err) < 0)
		return -1;
	xml = nc_domxml_build(def, c->domain_type);
	d = virDomainDefineXML(c->conn, xml);
	free(xml);
	if (!d)
		return lv_fail(err, "cannot define domain");
	virDomainFree(d);
	return 0;
}

static virDomainPtr lookup(struct lv_conn *c, const char *name, struct nc_err *err)
{
	virDomainPtr d = virDomainLookupByName(c->conn, name);

	if (!d)
		lv_fail(err, "cannot find domain");
	return d;
}

/* adoption: NovaCron's element into <metadata>, persistent and live, nothing else */
static int lv_set_meta(struct nc_host_conn *pub, const char *name, const struct nc_domain_def *def,
		       struct nc_err *err)
{
	struct lv_conn *c = (struct lv_conn *)pub;
	unsigned flags = VIR_DOMAIN_AFFECT_CONFIG;
	virDomainPtr d;
	char *xml;
	int ret = 0;

	if (nc_driver_fault("set_meta", err) < 0)
		return -1;
	if (!(d = lookup(c, name, err)))
		return -1;
	if (virDomainIsActive(d) == 1)
		flags |= VIR_DOMAIN_AFFECT_LIVE;
	xml = nc_domxml_meta(def);
	if (virDomainSetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, xml, "nc", NC_XMLNS, flags) < 0)
		ret = lv_fail(err, "cannot write metadata");
	free(xml);
	virDomainFree(d);
	return ret;
}

static int lv_start(struct nc_host_conn *pub, const char *name, struct nc_err *err)
{
	struct lv_conn *c = (struct lv_conn *)pub;
	virDomainPtr d;
	int ret = 0;

	if (nc_driver_fault("start", err) < 0)
		return -1;
	if (!(d = lookup(c, name, err)))
		return -1;
	if (virDomainIsActive(d) != 1) {
		if (virDomainCreate(d) < 0)
			ret = lv_fail(err, "cannot start domain");
	}
	virDomainFree(d);
	return ret;
}

/*
 * The QEMU guest agent answers guest-ping within timeout_s seconds.  Drivers
 * without the QEMU API (the test driver behind sim://) fail: no agent.
 */
static int lv_agent_ping(struct nc_host_conn *pub, const char *name, unsigned timeout_s,
			 struct nc_err *err)
{
	struct lv_conn *c = (struct lv_conn *)pub;
	virDomainPtr d;
	char *ans;
	int ret = 0;

	if (!(d = lookup(c, name, err)))
		return -1;
	ans = virDomainQemuAgentCommand(d, "{\"execute\":\"guest-ping\"}", (int)(timeout_s ? timeout_s : 1), 0);
	if (!ans)
		ret = lv_fail(err, "guest agent did not answer");
	free(ans);
	virDomainFree(d);
	return ret;
}

static int lv_shutdown(struct nc_host_conn *pub, const char *name, unsigned timeout_ms,
		       struct nc_err *err)
{
	struct lv_conn *c = (struct lv_conn *)pub;
	virDomainPtr d;
	unsigned waited = 0;
	int ret = 0;

	if (nc_driver_fault("shutdown", err) < 0)
		return -1;
	if (!(d = lookup(c, name, err)))
		return -1;
	if (virDomainIsActive(d) != 1)
		goto out;
	if (virDomainShutdown(d) == 0) {
		while (virDomainIsActive(d) == 1 && waited < timeout_ms) {
			struct timespec ts = { 0, 100 * 1000 * 1000 };

			nanosleep(&ts, NULL);
			waited += 100;
		}
	}
	if (virDomainIsActive(d) == 1 && virDomainDestroy(d) < 0)
		ret = lv_fail(err, "cannot stop domain");
out:
	virDomainFree(d);
	return ret;
}

static int lv_set_live(struct nc_host_conn *pub, const char *name, unsigned vcpus,
		       uint64_t memory, struct nc_err *err)
{
	struct lv_conn *c = (struct lv_conn *)pub;
	virDomainPtr d;
	int ret = 0;

	if (nc_driver_fault("set_live", err) < 0)
		return -1;
	if (!(d = lookup(c, name, err)))
		return -1;
	if (memory && virDomainSetMemoryFlags(d, (unsigned long)((memory + 1023) / 1024),
					      VIR_DOMAIN_AFFECT_LIVE) < 0)
		ret = lv_fail(err, "cannot set memory");
	if (!ret && vcpus && virDomainSetVcpusFlags(d, vcpus, VIR_DOMAIN_AFFECT_LIVE) < 0)
		ret = lv_fail(err, "cannot set vcpus");
	if (!ret)
	virDomainFree(d);
	return ret;
}

static int lv_change_media(struct nc_host_conn *pub, const char *name, const struct nc_seed_def *seed,
			   struct nc_err *err)
{
	struct lv_conn *c = (struct lv_conn *)pub;
	virDomainPtr d;
	char *xml;
	int ret = 0;

	if (nc_driver_fault("change_media", err) < 0)
		return -1;
	if (!(d = lookup(c, name, err)))
		return -1;
	if (virDomainIsActive(d) != 1 || c->sim) {
		/* shut off: read at start; simulated: no guest reads it */
		virDomainFree(d);
		return 0;
	}
	/* libvirt changes nothing for the same source: eject (forced: a guest
	 * may hold the tray locked), then insert */
	xml = nc_domxml_seed(seed, false);
	if (virDomainUpdateDeviceFlags(d, xml, VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_DEVICE_MODIFY_FORCE) < 0)
		ret = lv_fail(err, "cannot eject the old cloud-init seed");
	free(xml);
	xml = nc_domxml_seed(seed, true);
	if (!ret && virDomainUpdateDeviceFlags(d, xml, VIR_DOMAIN_AFFECT_LIVE) < 0)
		ret = lv_fail(err, "cannot insert the new cloud-init seed");
	free(xml);
	virDomainFree(d);
	return ret;
}

static int lv_undefine(struct nc_host_conn *pub, const char *name, struct nc_err *err)
{
	struct lv_conn *c = (struct lv_conn *)pub;
	virDomainPtr d;
	int ret = 0;

	if (nc_driver_fault("undefine", err) < 0)
		return -1;
	d = virDomainLookupByName(c->conn, name);
	if (!d)
		return virGetLastErrorCode() == VIR_ERR_NO_DOMAIN ? 0 : lv_fail(err, "cannot find domain");
	if (virDomainIsActive(d) == 1 && virDomainDestroy(d) < 0) {
		ret = lv_fail(err, "cannot stop domain");
		goto out;
	}
	if (virDomainUndefineFlags(d, VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
				      VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
				      VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA) < 0 &&
	    virDomainUndefine(d) < 0)
		ret = lv_fail(err, "cannot undefine domain");
out:
	virDomainFree(d);
	return ret;
}

/* parses libvirt XML and returns a copy of its root for doc; NULL on failure */
static xmlNodePtr sim_copy_root(const char *xml, xmlDocPtr doc)
{
	xmlDocPtr d = xmlReadMemory(xml, (int)strlen(xml), "storage.xml", NULL,
				    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	xmlNodePtr copy = d ? xmlDocCopyNode(xmlDocGetRootElement(d), doc, 1) : NULL;

	xmlFreeDoc(d);
	return copy;
}

/*
 * sim: every storage pool (drivers/storage/storage.c) into the node document as
 * <pool> with its volumes as nested <volume> children, the test driver's
 * node-file format, so the host reloads them (started) on the next open.
 */
static int sim_save_pools(struct lv_conn *c, xmlDocPtr node, struct nc_err *err)
{
	virStoragePoolPtr *pools = NULL;
	int n = virConnectListAllStoragePools(c->conn, &pools, 0), i, ret = -1;

	if (n < 0)
		return lv_fail(err, "cannot list storage pools");
	for (i = 0; i < n; i++) {
		char *xml = virStoragePoolGetXMLDesc(pools[i], 0);
		xmlNodePtr pool = xml ? sim_copy_root(xml, node) : NULL;
		virStorageVolPtr *vols = NULL;
		int nv = 0, j;
		bool lost = false;

		free(xml);
		if (!pool) {
			lv_fail(err, "cannot save simulated storage pool");
			goto out;
		}
		xmlAddChild(xmlDocGetRootElement(node), pool);
		if (virStoragePoolIsActive(pools[i]) == 1 &&
		    (nv = virStoragePoolListAllVolumes(pools[i], &vols, 0)) < 0) {
			lv_fail(err, "cannot list simulated volumes");
			goto out;
		}
		for (j = 0; j < nv; j++) {
			char *vx = virStorageVolGetXMLDesc(vols[j], 0);
			xmlNodePtr vol = vx ? sim_copy_root(vx, node) : NULL;

			free(vx);
			if (vol)
				xmlAddChild(pool, vol);
			else
				lost = true;
		}
		for (j = 0; j < nv; j++)
			virStorageVolFree(vols[j]);
		free(vols);
		if (lost) {
			nc_err_set(err, "cannot save simulated volume");
			goto out;
		}
	}
	ret = 0;
out:
	for (i = 0; i < n; i++)
		virStoragePoolFree(pools[i]);
	free(pools);
	return ret;
}

/* sim: every network, with its run state and autostart in its <metadata> */
static int sim_save_networks(struct lv_conn *c, xmlDocPtr node, struct nc_err *err)
{
	virNetworkPtr *nets = NULL;
	int n = virConnectListAllNetworks(c->conn, &nets, 0), i, ret = -1;

	if (n < 0)
		return lv_fail(err, "cannot list networks");
	for (i = 0; i < n; i++) {
		char *xml = virNetworkGetXMLDesc(nets[i], 0);
		xmlNodePtr net = xml ? sim_copy_root(xml, node) : NULL, k, md = NULL, st;
		xmlNsPtr ns;
		int autostart = 0;

		free(xml);
		if (!net) {
			lv_fail(err, "cannot save simulated network");
			goto out;
		}
		for (k = net->children; k; k = k->next)
			if (k->type == XML_ELEMENT_NODE && strcmp((const char *)k->name, "metadata") == 0)
				md = k;
		if (!md) {
			/* <metadata> goes right after <name> and <uuid> */
			md = xmlNewNode(NULL, BAD_CAST "metadata");
			for (k = net->children; k; k = k->next)
				if (k->type == XML_ELEMENT_NODE && strcmp((const char *)k->name, "name") != 0 &&
				    strcmp((const char *)k->name, "uuid") != 0)
					break;
			if (k)
				xmlAddPrevSibling(k, md);
			else
				xmlAddChild(net, md);
		}
		for (k = md->children; k;) {      /* the state saved last time */
			xmlNodePtr next = k->next;

			if (k->type == XML_ELEMENT_NODE && k->ns && k->ns->href &&
			    strcmp((const char *)k->ns->href, SIM_NS) == 0) {
				xmlUnlinkNode(k);
				xmlFreeNode(k);
			}
			k = next;
		}
		st = xmlNewChild(md, NULL, BAD_CAST "state", NULL);
		ns = xmlNewNs(st, BAD_CAST SIM_NS, BAD_CAST "sim");
		xmlSetNs(st, ns);
		virNetworkGetAutostart(nets[i], &autostart);
		xmlNewProp(st, BAD_CAST "active", BAD_CAST(virNetworkIsActive(nets[i]) == 1 ? "yes" : "no"));
		xmlNewProp(st, BAD_CAST "autostart", BAD_CAST(autostart ? "yes" : "no"));
		xmlAddChild(xmlDocGetRootElement(node), net);
	}
	ret = 0;
out:
	for (i = 0; i < n; i++)
		virNetworkFree(nets[i]);
	free(nets);
	return ret;
}

/* sim: write every domain, with its run state, and every storage pool back to the state file */
static int lv_commit(struct nc_host_conn *pub, struct nc_err *err)
{
	struct lv_conn *c = (struct lv_conn *)pub;
	virDomainPtr *doms = NULL;
	xmlDocPtr node;
	virNodeInfo ni;
	char *out = NULL;
	int n, i, ret = -1;

	if (!c->sim)
		return 0;
	/* migrations in parallel commit the same host: one at a time, and
	 * the snapshot taken under the lock is the newest */
	pthread_mutex_lock(&c->commit_mu);
	if (virNodeGetInfo(c->conn, &ni) < 0) {
		pthread_mutex_unlock(&c->commit_mu);
		return lv_fail(err, "cannot read node info");
	}
	n = virConnectListAllDomains(c->conn, &doms, 0);
	if (n < 0) {
		pthread_mutex_unlock(&c->commit_mu);
		return lv_fail(err, "cannot list domains");
	}
	node = node_doc(ni.cpus, ni.memory);
	for (i = 0; i < n; i++) {
		char *xml = virDomainGetXMLDesc(doms[i], VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
		xmlDocPtr dom;
		xmlNodePtr root, copy;
		xmlNsPtr ns;
		int st, reason;
		char num[32];

		/* a domain another thread just moved away is simply not saved */
		if (!xml) {
			if (virGetLastErrorCode() == VIR_ERR_NO_DOMAIN)
				continue;
			lv_fail(err, "cannot read domain XML");
			goto out;
		}
		dom = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
				    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
		free(xml);
		if (dom && virDomainGetState(doms[i], &st, &reason, 0) < 0 &&
		    virGetLastErrorCode() == VIR_ERR_NO_DOMAIN) {
			xmlFreeDoc(dom);
			continue;
		}
		if (!dom) {
			nc_err_set(err, "cannot save simulated domain");
			goto out;
		}
		/* the test driver reads the run state back from test:runstate */
		root = xmlDocGetRootElement(dom);
		ns = xmlNewNs(root, BAD_CAST TEST_NS, BAD_CAST "test");
		snprintf(num, sizeof(num), "%d", st == VIR_DOMAIN_RUNNING ? VIR_DOMAIN_RUNNING :
					       st == VIR_DOMAIN_PAUSED ? VIR_DOMAIN_PAUSED : VIR_DOMAIN_SHUTOFF);
		xmlNewChild(root, ns, BAD_CAST "runstate", BAD_CAST num);
		/* keep a running guest's live balloon (virsh setmem) across runs */
		if (st == VIR_DOMAIN_RUNNING) {
			virDomainInfo info;
			xmlNodePtr k;

			if (virDomainGetInfo(doms[i], &info) == 0) {
				for (k = root->children; k; k = k->next) {
					if (k->type == XML_ELEMENT_NODE &&
					    strcmp((const char *)k->name, "currentMemory") == 0) {
						snprintf(num, sizeof(num), "%lu", info.memory);
						xmlNodeSetContent(k, BAD_CAST num);
						xmlSetProp(k, BAD_CAST "unit", BAD_CAST "KiB");
					}
				}
			}
		}
		if (nc_sim_snaps_save(doms[i], root, ns, err) < 0) {
			xmlFreeDoc(dom);
			goto out;
		}
		copy = xmlDocCopyNode(root, node, 1);
		xmlAddChild(xmlDocGetRootElement(node), copy);
		xmlFreeDoc(dom);
	}
	if (sim_save_pools(c, node, err) < 0 || sim_save_networks(c, node, err) < 0)
		goto out;
	out = nc_xml_doc_text(node);
	ret = write_atomic(c->state_file, out, strlen(out), err);
out:
	pthread_mutex_unlock(&c->commit_mu);
	for (i = 0; i < n; i++)
		virDomainFree(doms[i]);
	free(doms);
	xmlFreeDoc(node);
	free(out);
	return ret;
}

static const char *const lv_schemes[] = {
	"qemu", "qemu+ssh", "qemu+tcp", "qemu+tls", "qemu+unix", "qemu+libssh", "qemu+libssh2",
	"test", "test+unix", NULL
};
static const char *const sim_schemes[] = { "sim", NULL };

/* one implementation serves both: the connection knows whether it is simulated */
#define LV_METHODS \
	.open = lv_open, \
	.close = lv_close, \
	.observe = lv_observe, \
	.lookup = lv_lookup, \
	.define = lv_define, \
	.start = lv_start, \
	.shutdown = lv_shutdown, \
	.set_live = lv_set_live, \
	.change_media = lv_change_media, \
	.undefine = lv_undefine, \
	.migrate = lv_migrate, \
	.secret_define = nc_host_secret_define, \
	.commit = lv_commit, \
	.set_meta = lv_set_meta, \
	.agent_ping = lv_agent_ping, \
	.snap_create = nc_host_snap_create, \
	.snap_delete = nc_host_snap_delete, \
	.snap_revert = nc_host_snap_revert, \
	.stats = nc_host_stats_read

const struct nc_host_driver nc_driver_libvirt = {
	.name = "libvirt",
	.schemes = lv_schemes,
	LV_METHODS,
};

const struct nc_host_driver nc_driver_sim = {
	.name = "sim",
	.schemes = sim_schemes,
	LV_METHODS,
};

static int lv_open(struct nc_host_conn **out, const char *uri, const struct nc_driver_opts *opts,
		   struct nc_err *err)
{
	struct lv_conn *c;

	pthread_once(&lv_once, lv_init);
	c = nc_xcalloc(1, sizeof(*c));
	c->lock_fd = -1;
	pthread_mutex_init(&c->commit_mu, NULL);
	c->pub.uri = nc_xstrdup(uri);
	if (strncmp(uri, "sim:", 4) == 0) {
		c->pub.drv = &nc_driver_sim;
		if (sim_open(c, uri, opts, err) < 0) {
			lv_close(&c->pub);
			return -1;
		}
	} else {
		c->pub.drv = &nc_driver_libvirt;
		c->conn = virConnectOpen(uri);
		if (!c->conn) {
			lv_open_fail(err, "cannot connect");
			lv_close(&c->pub);
			return -1;
		}
		c->domain_type = strncmp(uri, "test", 4) == 0 ? "test" : probe_domain_type(c->conn);
	}
	*out = &c->pub;
	return 0;
}

/* ---- health probes (driver.h) ---- */

static char *sim_down_file(const char *state_dir, const char *name)
{
	return nc_xasprintf("%s/%s.down", state_dir, name);
}

bool nc_sim_host_down(const char *state_dir, const char *name)
{
	char *f;
	bool down;

	if (!state_dir || !name)
		return false;
	f = sim_down_file(state_dir, name);
	down = access(f, F_OK) == 0;
	free(f);
	return down;
}

int nc_sim_host_set_down(const char *state_dir, const char *name, bool down, struct nc_err *err)
{
	char *f = sim_down_file(state_dir, name);
	int fd, ret = 0;

	if (down) {
		fd = open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0) {
			nc_err_set(err, "cannot create %s: %s", f, strerror(errno));
			ret = -1;
		} else {
			close(fd);
		}
	} else if (unlink(f) < 0 && errno != ENOENT) {
		nc_err_set(err, "cannot remove %s: %s", f, strerror(errno));
		ret = -1;
	}
	free(f);
	return ret;
}

struct nc_host_probe {
	virConnectPtr conn;          /* libvirt URIs; NULL for sim */
};

void nc_host_probe_close(struct nc_host_probe *p)
{
	if (!p)
		return;
	if (p->conn)
		virConnectClose(p->conn);
	free(p);
}

int nc_host_probe(struct nc_host_probe **pp, const char *uri, const struct nc_driver_opts *opts,
		  struct nc_err *err)
{
	struct nc_host_probe *p = *pp;
	unsigned long ver = 0;

	pthread_once(&lv_once, lv_init);
	if (strncmp(uri, "sim:", 4) == 0) {
		char *name = NULL;
		unsigned cpus;
		uint64_t memory;
		int r = 0;

		if (sim_parse_uri(uri, &name, &cpus, &memory, err) < 0)
			return -1;
		if (!opts || !opts->state_dir || !*opts->state_dir) {
			nc_err_set(err, "sim:// hosts need a state directory");
			r = -1;
		} else if (nc_sim_host_down(opts->state_dir, name)) {
			nc_err_set(err, "cannot connect: host is down (novacron sim %s down)", name);
			r = -1;
		} else if (access(opts->state_dir, R_OK | X_OK) < 0) {
			nc_err_set(err, "cannot read state directory %s: %s", opts->state_dir, strerror(errno));
			r = -1;
		}
		free(name);
		return r;
	}
	if (!p) {
		p = nc_xcalloc(1, sizeof(*p));
		p->conn = virConnectOpen(uri);
		if (!p->conn) {
			lv_open_fail(err, "cannot connect");
			free(p);
			return -1;
		}
		*pp = p;
	}
	if (virConnectIsAlive(p->conn) != 1 || virConnectGetLibVersion(p->conn, &ver) < 0) {
		lv_fail(err, "no answer");
		nc_host_probe_close(p);
		*pp = NULL;
		return -1;
	}
	return 0;
}

/* ---- `novacron sim`: change a simulated host by hand, as virsh would ---- */

static int sim_detach_nic(struct lv_conn *c, virDomainPtr d, const char *mac, struct nc_err *err)
{
	char *xml = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
	xmlDocPtr doc;
	xmlXPathContextPtr ctx;
	xmlXPathObjectPtr o;
	char *expr;
	int ret = -1;

	if (!xml)
		return lv_fail(err, "cannot read domain XML");
	doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL, XML_PARSE_NONET);
	free(xml);
	if (!doc)
		return lv_fail(err, "cannot parse domain XML");
	ctx = xmlXPathNewContext(doc);
	expr = nc_xasprintf("/domain/devices/interface[mac/@address='%s']", mac);
	o = xmlXPathEvalExpression(BAD_CAST expr, ctx);
	free(expr);
	if (!o || !o->nodesetval || o->nodesetval->nodeNr == 0) {
		nc_err_set(err, "no NIC with MAC %s", mac);
	} else {
		xmlNodePtr nic = o->nodesetval->nodeTab[0];
		char *text;
		virDomainPtr nd;

		xmlUnlinkNode(nic);
		xmlFreeNode(nic);
		text = nc_xml_doc_text(doc);
		nd = virDomainDefineXML(c->conn, text);
		free(text);
		if (!nd) {
			lv_fail(err, "cannot redefine domain");
		} else {
			virDomainFree(nd);
			ret = 0;
		}
	}
	xmlXPathFreeObject(o);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return ret;
}

/* the network commands of `novacron sim`, as virsh net-* would */
static int sim_net_tool(struct lv_conn *c, int argc, char **argv, FILE *out, struct nc_err *err)
{
	const char *cmd = argv[0];
	virNetworkPtr net = NULL;
	int ret = -1;

	if (strcmp(cmd, "net-list") == 0 && argc == 1) {
		virNetworkPtr *nets = NULL;
		int n = virConnectListAllNetworks(c->conn, &nets, 0), i, j;

		if (n < 0)
			return lv_fail(err, "cannot list networks");
		/* by name */
		for (i = 1; i < n; i++)
			for (j = i; j > 0 && strcmp(virNetworkGetName(nets[j - 1]), virNetworkGetName(nets[j])) > 0; j--) {
				virNetworkPtr t = nets[j];

				nets[j] = nets[j - 1];
				nets[j - 1] = t;
			}
		for (i = 0; i < n; i++) {
			char *xml = virNetworkGetXMLDesc(nets[i], 0);
			int autostart = 0;

			virNetworkGetAutostart(nets[i], &autostart);
			fprintf(out, "%-20s %-8s %-12s %s\n", virNetworkGetName(nets[i]),
				virNetworkIsActive(nets[i]) == 1 ? "active" : "inactive",
				autostart ? "autostart" : "no-autostart",
				xml && strstr(xml, "https://novacron.io/xmlns/network/1") ? "managed" : "unmanaged");
			free(xml);
			virNetworkFree(nets[i]);
		}
		free(nets);
		return 0;
	}
	if (argc < 2) {
		nc_err_set(err, "usage: novacron sim HOST net-list | net-dumpxml NET | net-destroy NET | "
				"net-autostart NET on|off | net-define-unmanaged NET");
		return -1;
	}
	if (strcmp(cmd, "net-define-unmanaged") == 0 && argc == 2) {
		xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
		xmlNodePtr root = xmlNewNode(NULL, BAD_CAST "network");
		char *xml;

		xmlDocSetRootElement(doc, root);
		xmlNewTextChild(root, NULL, BAD_CAST "name", BAD_CAST argv[1]);
		xml = nc_xml_doc_text(doc);
		xmlFreeDoc(doc);
		net = virNetworkDefineXML(c->conn, xml);
		free(xml);
		if (!net)
			return lv_fail(err, "cannot define network");
		ret = virNetworkCreate(net) < 0 ? lv_fail(err, "cannot start network") : 0;
		virNetworkFree(net);
		return ret;
	}
	net = virNetworkLookupByName(c->conn, argv[1]);
	if (!net)
		return lv_fail(err, "cannot find network");
	if (strcmp(cmd, "net-dumpxml") == 0 && argc == 2) {
		char *xml = virNetworkGetXMLDesc(net, 0);

		if (xml) {
			fputs(xml, out);
			ret = 0;
		} else {
			lv_fail(err, "cannot read network");
		}
		free(xml);
	} else if (strcmp(cmd, "net-destroy") == 0 && argc == 2) {
		ret = virNetworkDestroy(net) < 0 ? lv_fail(err, "cannot stop network") : 0;
	} else if (strcmp(cmd, "net-autostart") == 0 && argc == 3) {
		ret = virNetworkSetAutostart(net, strcmp(argv[2], "on") == 0) < 0 ?
		      lv_fail(err, "cannot set autostart") : 0;
	} else {
		nc_err_set(err, "unknown sim command '%s'", cmd);
	}
	virNetworkFree(net);
	return ret;
}

/*
 * `novacron sim HOST down|up`: the marker STATE_DIR/HOST.down makes every
 * open of the host fail, as a crashed or cut-off host would (docs/ha.md).
 * Its domains stay as they were: `up` is a host that comes back with what
 * it ran (a partition that heals, a hung host that resumes), the case where
 * a stale copy must be found before it runs twice.
 */
static int sim_down(const char *state_dir, const char *uri, bool down, FILE *out,
		    struct nc_err *err)
{
	char *name = NULL;
	unsigned cpus;
	uint64_t memory;
	int ret = -1;

	if (sim_parse_uri(uri, &name, &cpus, &memory, err) < 0)
		return -1;
	if (nc_mkdir_p(state_dir) < 0) {
		nc_err_set(err, "cannot create state directory %s: %s", state_dir, strerror(errno));
		goto out;
	}
	if (nc_sim_host_set_down(state_dir, name, down, err) < 0)
		goto out;
	if (down)
		fprintf(out, "simulated host %s is down: every connection to it fails until "
			     "`novacron sim %s up`\n", name, name);
	else
		fprintf(out, "simulated host %s is up\n", name);
	ret = 0;
out:
	free(name);
	return ret;
}

int nc_sim_tool(const char *state_dir, const char *host, int argc, char **argv, FILE *out,
		struct nc_err *err)
{
	struct nc_driver_opts opts = { state_dir };
	struct nc_host_conn *pub = NULL;
	struct lv_conn *c;
	virDomainPtr d = NULL;
	const char *cmd = argc > 0 ? argv[0] : "";
	char *uri = nc_xasprintf("sim:///%s", host);
	int ret = -1;

	if ((strcmp(cmd, "down") == 0 || strcmp(cmd, "up") == 0) && argc == 1) {
		ret = sim_down(state_dir, uri, strcmp(cmd, "down") == 0, out, err);
		free(uri);
		return ret;
	}
	if (lv_open(&pub, uri, &opts, err) < 0)
		goto out;
	c = (struct lv_conn *)pub;
	if (strcmp(cmd, "list") == 0 && argc == 1) {
		struct nc_observed_host h;
		size_t i;

		if (lv_observe(pub, &h, err) < 0)
			goto out;
		for (i = 0; i < h.ndoms; i++) {
			char mem[32];

			nc_size_format(h.doms[i].cur_memory ? h.doms[i].cur_memory : h.doms[i].memory, mem,
				       sizeof(mem));
			fprintf(out, "%-20s %-9s %u vCPU %-8s %s\n", h.doms[i].name,
				nc_dom_state_name(h.doms[i].state), h.doms[i].vcpus, mem,
				h.doms[i].managed ? "managed" : "unmanaged");
		}
		nc_observed_host_release(&h);
		ret = 0;
		goto out;
	}
	if (strcmp(cmd, "define") == 0 && argc == 2) {
		/* virsh define FILE: a domain as an operator wrote it (adoption tests, docs/adopt.md) */
		char *xml = NULL;
		size_t len;

		if (nc_read_file(argv[1], 1 << 20, &xml, &len) < 0) {
			nc_err_set(err, "cannot read %s", argv[1]);
			goto out;
		}
		d = virDomainDefineXML(c->conn, xml);
		free(xml);
		if (!d) {
			lv_fail(err, "cannot define domain");
			goto out;
		}
		ret = lv_commit(pub, err);
		goto out;
	}
	if (strcmp(cmd, "define-unmanaged") == 0 && argc == 2) {
		struct nc_domain_def def;
		char *xml;

		memset(&def, 0, sizeof(def));
		def.name = argv[1];
		def.vcpus = 1;
		def.memory = 256ULL << 20;
		xml = nc_domxml_build(&def, "test");
		/* no NovaCron metadata: strip the element the builder adds */
		{
			char *m = strstr(xml, "<metadata>"), *e = m ? strstr(m, "</metadata>") : NULL;

			if (m && e)
				memmove(m, e + strlen("</metadata>"), strlen(e + strlen("</metadata>")) + 1);
		}
		d = virDomainDefineXML(c->conn, xml);
		free(xml);
		if (!d) {
			lv_fail(err, "cannot define domain");
			goto out;
		}
		ret = lv_commit(pub, err);
		goto out;
	}
	if (strcmp(cmd, "load") == 0) {   /* synthetic load (drivers/host/stats.c) */
		ret = nc_sim_load_tool(pub, argc, argv, out, err);
		goto out;
	}
	if (strncmp(cmd, "net-", 4) == 0) {
		ret = sim_net_tool(c, argc, argv, out, err);
		if (ret == 0 && strcmp(cmd, "net-list") != 0 && strcmp(cmd, "net-dumpxml") != 0)
			ret = lv_commit(pub, err);
		goto out;
	}
	if (argc < 2) {
		nc_err_set(err, "usage: novacron sim HOST list | define-unmanaged NAME | start DOM | "
				"destroy DOM | setmem DOM SIZE | setvcpus DOM N | detach-nic DOM MAC | "
				"undefine DOM | net-list | net-dumpxml NET | net-destroy NET | "
				"net-autostart NET on|off | net-define-unmanaged NET | down | up | "
				"load [VM [KEY=VALUE...] | VM --clear]");
		goto out;
	}
	d = virDomainLookupByName(c->conn, argv[1]);
	if (!d) {
		lv_fail(err, "cannot find domain");
		goto out;
	}
	if (strcmp(cmd, "start") == 0 && argc == 2) {
		ret = virDomainCreate(d) < 0 ? lv_fail(err, "cannot start") : 0;
	} else if (strcmp(cmd, "destroy") == 0 && argc == 2) {
		ret = virDomainDestroy(d) < 0 ? lv_fail(err, "cannot destroy") : 0;
	} else if (strcmp(cmd, "undefine") == 0 && argc == 2) {
		if (virDomainIsActive(d) == 1)
			virDomainDestroy(d);
		ret = virDomainUndefine(d) < 0 ? lv_fail(err, "cannot undefine") : 0;
	} else if (strcmp(cmd, "setmem") == 0 && argc == 3) {
		uint64_t bytes;
		const char *why;

		if (nc_size_parse(argv[2], &bytes, &why) < 0)
			nc_err_set(err, "invalid size '%s': %s", argv[2], why);
		else
			ret = virDomainSetMemoryFlags(d, (unsigned long)(bytes / 1024), VIR_DOMAIN_AFFECT_LIVE) < 0 ?
			      lv_fail(err, "cannot set memory") : 0;
	} else if (strcmp(cmd, "setvcpus") == 0 && argc == 3) {
		ret = virDomainSetVcpusFlags(d, (unsigned)atoi(argv[2]),
					     VIR_DOMAIN_AFFECT_CONFIG | VIR_DOMAIN_VCPU_MAXIMUM) < 0 ||
		      virDomainSetVcpusFlags(d, (unsigned)atoi(argv[2]), VIR_DOMAIN_AFFECT_CONFIG) < 0 ?
		      lv_fail(err, "cannot set vcpus") : 0;
	} else if (strcmp(cmd, "detach-nic") == 0 && argc == 3) {
		ret = sim_detach_nic(c, d, argv[2], err);
	} else {
		nc_err_set(err, "unknown sim command '%s'", cmd);
	}
	if (ret == 0)
		ret = lv_commit(pub, err);
out:
	if (d)
		virDomainFree(d);
	lv_close(pub);
	free(uri);
	return ret;
}

/* ---- migration ---- */

/*
 * Copies the persistent definition to dst, then undefines it here.  A domain
 * with snapshots is refused before anything changes, as libvirt refuses to
 * migrate one (and to undefine it): the move would otherwise stop the guest
 * and then fail at the undefine.  When the source cannot be undefined it
 * runs again if it ran (invariant 10: a failed migration leaves it as it was).
 */
static int cold_move(struct lv_conn *d, virDomainPtr dom, bool start,
		     struct nc_err *err)
{
	char *xml;
	virDomainPtr nd;
	int nsnap = virDomainSnapshotNum(dom, 0), active;

	if (nsnap > 0) {
		nc_err_set(err, "the domain has %d snapshot%s: libvirt moves no domain with snapshots; delete them "
			   "first (docs/storage.md \"Snapshots\")", nsnap, nsnap == 1 ? "" : "s");
		return -1;
	}
	xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE | VIR_DOMAIN_XML_MIGRATABLE);
	if (!xml)
		xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
	if (!xml)
		return lv_fail(err, "cannot read domain XML");
	nd = virDomainDefineXML(d->conn, xml);
	free(xml);
	if (!nd)
		return lv_fail(err, "cannot define domain on the destination");
	/* the source stays as it was when it cannot let go: the destination
	 * loses the new definition again (invariant 10) */
	active = virDomainIsActive(dom) == 1;
	if (active && virDomainDestroy(dom) < 0) {
		lv_fail(err, "cannot stop domain on the source");
		virDomainUndefine(nd);
		virDomainFree(nd);
		return -1;
	}
	if (virDomainUndefine(dom) < 0) {
		lv_fail(err, "cannot undefine domain on the source");
		virDomainUndefine(nd);
		virDomainFree(nd);
		if (active)
			virDomainCreate(dom);
		return -1;
	}
	if (start && virDomainCreate(nd) < 0) {
		virDomainFree(nd);
		return lv_fail(err, "cannot start domain on the destination");
	}
	virDomainFree(nd);
	return 0;
}

static int lv_migrate(struct nc_host_conn *pub, struct nc_host_conn *dpub, const char *name,
		      const struct nc_migrate_opts *o, struct nc_err *err)
{
	struct lv_conn *c = (struct lv_conn *)pub, *d = (struct lv_conn *)dpub;
	virDomainPtr dom;
	int ret;

	if (nc_driver_fault("migrate", err) < 0)
		return -1;
	if (!(dom = lookup(c, name, err)))
		return -1;
	/* simulated hosts (libvirt's test driver) cannot migrate: move the
	 * definition and the run state instead, which is what a migration
	 * leaves behind */
	if (!o->live || c->sim || d->sim || strcmp(c->domain_type, "test") == 0)
		ret = cold_move(d, dom, o->live && virDomainIsActive(dom) == 1, err);
	else
		ret = nc_lv_live_migrate(dom, name, o, err);
	virDomainFree(dom);
	return ret;
}

virConnectPtr nc_libvirt_conn(struct nc_host_conn *host)
{
	if (!host || (host->drv != &nc_driver_libvirt && host->drv != &nc_driver_sim))
		return NULL;
	return ((struct lv_conn *)host)->conn;
}

const char *nc_libvirt_state_file(struct nc_host_conn *host)
{
	return nc_libvirt_is_sim(host) ? ((struct lv_conn *)host)->state_file : NULL;
}

bool nc_libvirt_is_sim(struct nc_host_conn *host)
{
	return host && host->drv == &nc_driver_sim && ((struct lv_conn *)host)->sim;
}
