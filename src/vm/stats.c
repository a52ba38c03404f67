/* VM statistics.  Counters are read racily but atomically (vcpu.h). */
#include "vm/stats.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/util.h"
#include "vm/guest/lg.h"
#include "vm/linux.h"

uint64_t vm_stats_touched(const struct kvm_vm *kvm)
{
	size_t pages = kvm->ram_size / 4096;
	_cleanup_free_ unsigned char *v = xmalloc(pages ? pages : 1);
	if (mincore(kvm->ram, kvm->ram_size, v) < 0)
		return 0;
	uint64_t n = 0;
	for (size_t i = 0; i < pages; i++)
		n += v[i] & 1;
	return n * 4096;
}

static uint64_t self_rss(void)
{
	FILE *f = fopen("/proc/self/statm", "re");
	unsigned long size = 0, rss = 0;
	if (f) {
		if (fscanf(f, "%lu %lu", &size, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* Memory only this process holds (Private_Clean + Private_Dirty of
 * smaps_rollup): without the shared library pages every process maps. */
static uint64_t self_private(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "re");
	char line[256];
	uint64_t kb = 0;
	unsigned long long v;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Private_Clean: %llu kB", &v) == 1 ||
		    sscanf(line, "Private_Dirty: %llu kB", &v) == 1)
			kb += v;
	if (f)
		fclose(f);
	return kb * 1024;
}

static uint64_t thread_cpu(pthread_t t)
{
	clockid_t c;
	struct timespec ts;
	if (pthread_getcpuclockid(t, &c) != 0 || clock_gettime(c, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

struct collect {
	struct json_object *vcpus, *exits;
	uint64_t total[KVM_EXIT_NAMES_MAX];
	uint64_t cpu_ns, io_bytes, mmio_bytes;
};

static void add_vcpu(struct collect *c, struct vcpu *v, pthread_t thread, bool has_thread)
{
	struct json_object *o = json_object_new_object();
	struct json_object *ex = json_object_new_object();
	uint64_t cpu = has_thread ? thread_cpu(thread) : 0;
	for (unsigned r = 0; r < KVM_EXIT_NAMES_MAX; r++) {
		uint64_t n = vcpu_read_counter(&v->stats.exits[r]);
		if (!n)
			continue;
		c->total[r] += n;
		json_object_object_add(ex, kvm_exit_name(r), json_object_new_uint64(n));
	}
	c->cpu_ns += cpu;
	c->io_bytes += vcpu_read_counter(&v->stats.io_bytes);
	c->mmio_bytes += vcpu_read_counter(&v->stats.mmio_bytes);
	json_object_object_add(o, "id", json_object_new_int((int)v->id));
	json_object_object_add(o, "cpu_ns", json_object_new_uint64(cpu));
	json_object_object_add(o, "exits", ex);
	json_object_array_add(c->vcpus, o);
}

static struct json_object *finish(struct collect *c, const struct kvm_vm *kvm,
				  struct json_object *root)
{
	struct json_object *ex = json_object_new_object();
	for (unsigned r = 0; r < KVM_EXIT_NAMES_MAX; r++)
		if (c->total[r])
			json_object_object_add(ex, kvm_exit_name(r), json_object_new_uint64(c->total[r]));
	json_object_object_add(root, "cpu_ns", json_object_new_uint64(c->cpu_ns));
	json_object_object_add(root, "exits", ex);
	json_object_object_add(root, "vcpus", c->vcpus);
	uint64_t touched = vm_stats_touched(kvm), rss = self_rss(), priv = self_private();
	struct json_object *mem = json_object_new_object();
	json_object_object_add(mem, "guest_ram", json_object_new_uint64(kvm->ram_size));
	json_object_object_add(mem, "touched", json_object_new_uint64(touched));
	json_object_object_add(mem, "monitor_rss", json_object_new_uint64(rss));
	json_object_object_add(mem, "monitor_overhead",
			       json_object_new_uint64(rss > touched ? rss - touched : 0));
	json_object_object_add(mem, "monitor_private_overhead",
			       json_object_new_uint64(priv > touched ? priv - touched : 0));
	json_object_object_add(root, "memory", mem);
	return root;
}

static char *to_string(struct json_object *o)
{
	char *s = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

char *vm_stats_guest(struct lg *lg)
{
	struct collect c = { .vcpus = json_object_new_array() };
	struct json_object *root = json_object_new_object();
	json_object_object_add(root, "kind", json_object_new_string("guest"));
	pthread_mutex_lock(&lg->lock);
	for (unsigned i = 0; i < lg->nworkers; i++)
		if (lg->workers[i]->vcpu)
			add_vcpu(&c, lg->workers[i]->vcpu, lg->workers[i]->thread, lg->workers[i]->started);
	uint64_t allocated = (lg->frames.end - lg->frames.first - lg->frames.nfree) * 4096;
	int nprocs = lg->nprocs;
	bool paused = lg->paused;
	pthread_mutex_unlock(&lg->lock);
	json_object_object_add(root, "paused", json_object_new_boolean(paused));
	json_object_object_add(root, "uptime_ns", json_object_new_uint64(cell_now_ns() - lg->start_ns));
	finish(&c, lg->kvm, root);
	struct json_object *mem, *g = json_object_new_object(), *io = json_object_new_object();
	json_object_object_get_ex(root, "memory", &mem);
	json_object_object_add(mem, "allocated", json_object_new_uint64(allocated));
	json_object_object_add(mem, "oom_kill",
			       json_object_new_uint64(__atomic_load_n(&lg->stats.oom_kills,
								      __ATOMIC_RELAXED)));
	const struct lg_stats *s = &lg->stats;
#define U(obj, name, v) json_object_object_add(obj, name, json_object_new_uint64(__atomic_load_n(&(v), __ATOMIC_RELAXED)))
	U(g, "syscalls", s->syscalls);
	U(g, "exceptions", s->exceptions);
	U(g, "page_faults", s->page_faults);
	U(g, "forks", s->forks);
	U(g, "execs", s->execs);
	U(g, "page_table_flushes", s->pt_flushes);
	json_object_object_add(g, "processes", json_object_new_int(nprocs));
	U(io, "read_bytes", s->read_bytes);
	U(io, "write_bytes", s->write_bytes);
#undef U
	json_object_object_add(io, "port_bytes", json_object_new_uint64(c.io_bytes));
	json_object_object_add(io, "mmio_bytes", json_object_new_uint64(c.mmio_bytes));
	json_object_object_add(root, "guest", g);
	json_object_object_add(root, "io", io);
	return to_string(root);
}

char *vm_stats_linux(struct lx_vm *vm)
{
	struct collect c = { .vcpus = json_object_new_array() };
	struct json_object *root = json_object_new_object();
	json_object_object_add(root, "kind", json_object_new_string("linux"));
	pthread_mutex_lock(&vm->lock);
	bool paused = vm->paused;
	unsigned nthreads = vm->nthreads;
	pthread_mutex_unlock(&vm->lock);
	json_object_object_add(root, "paused", json_object_new_boolean(paused));
	for (unsigned i = 0; i < vm->nvcpus; i++)
		add_vcpu(&c, vm->vcpus[i], i < nthreads ? vm->threads[i] : 0, i < nthreads);
	finish(&c, vm->kvm, root);
	struct json_object *io = json_object_new_object();
	pthread_mutex_lock(&vm->serial.lock);
	json_object_object_add(io, "serial_tx_bytes", json_object_new_uint64(vm->serial.tx_bytes));
	json_object_object_add(io, "serial_rx_bytes", json_object_new_uint64(vm->serial.rx_bytes));
	pthread_mutex_unlock(&vm->serial.lock);
	json_object_object_add(io, "port_bytes", json_object_new_uint64(c.io_bytes));
	json_object_object_add(io, "mmio_bytes", json_object_new_uint64(c.mmio_bytes));
	json_object_object_add(root, "io", io);
	return to_string(root);
}
