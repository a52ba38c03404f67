#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"

static int sink_fd = -1;
static enum cell_log_format sink_format = CELL_LOG_TEXT;
static enum cell_log_level sink_min = CELL_LOG_WARN;

static const char *const level_names[] = { "debug", "info", "warning", "error" };

void cell_log_setup(int fd, enum cell_log_format format, enum cell_log_level min)
{
	sink_fd = fd;
	sink_format = format;
	sink_min = min;
}

void cell_log_get(int *fd, enum cell_log_format *format, enum cell_log_level *min)
{
	*fd = sink_fd;
	*format = sink_format;
	*min = sink_min;
}

bool cell_log_enabled(enum cell_log_level level)
{
	return level >= sink_min;
}

void cell_log(enum cell_log_level level, const char *fmt, ...)
{
	if (!cell_log_enabled(level))
		return;
	char *msg = NULL, *line = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	int fd = sink_fd >= 0 ? sink_fd : STDERR_FILENO;
	if (sink_format == CELL_LOG_JSON) {
		char stamp[64];
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		_cleanup_free_ char *quoted = cell_json_quote(msg);
		n = asprintf(&line, "{\"level\":\"%s\",\"msg\":%s,\"time\":\"%s.%09ldZ\"}\n",
			     level_names[level], quoted ? quoted : "\"\"", stamp, ts.tv_nsec);
	} else {
		n = asprintf(&line, "cell: %s%s%s\n", level == CELL_LOG_ERROR ? "" : level_names[level],
			     level == CELL_LOG_ERROR ? "" : ": ", msg);
	}
	if (n > 0)
		cell_write_all(fd, line, (size_t)n);
	free(line);
	free(msg);
}
