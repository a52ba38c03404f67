/* The log sink.  Library code never prints; it may leave debug and warning
 * records here, and the CLI decides where they go (stderr, --log FILE) and
 * in which form (--log-format text|json, which podman and containerd read). */
#ifndef CELL_BASE_LOG_H
#define CELL_BASE_LOG_H

#include <stdbool.h>

enum cell_log_level { CELL_LOG_DEBUG, CELL_LOG_INFO, CELL_LOG_WARN, CELL_LOG_ERROR };

enum cell_log_format { CELL_LOG_TEXT, CELL_LOG_JSON };

/* fd -1 means stderr.  The sink does not own fd. */
void cell_log_setup(int fd, enum cell_log_format format, enum cell_log_level min);
/* The sink as set up, for handing it to an exec'd helper (the VM monitor). */
void cell_log_get(int *fd, enum cell_log_format *format, enum cell_log_level *min);
bool cell_log_enabled(enum cell_log_level level);
void cell_log(enum cell_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define cell_debug(...) \
	do { if (cell_log_enabled(CELL_LOG_DEBUG)) cell_log(CELL_LOG_DEBUG, __VA_ARGS__); } while (0)
#define cell_warn(...) cell_log(CELL_LOG_WARN, __VA_ARGS__)

#endif
