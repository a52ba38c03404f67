/* A 16550A UART: the console of Linux guests (COM1 at 0x3f8, IRQ 4).
 * Output goes to a host fd as the guest writes it; input is fed with
 * serial_input().  The guest's register accesses are all bounds-checked
 * here: a bad offset or size is ignored, never trusted. */
#ifndef CELL_VM_DEVICES_SERIAL_H
#define CELL_VM_DEVICES_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SERIAL_NREGS 8
#define SERIAL_RX_FIFO 64

struct serial {
	pthread_mutex_t lock;
	uint8_t ier, lcr, mcr, lsr, msr, scr, dll, dlm, fcr;
	bool thr_ipending;      /* a "THR empty" interrupt not yet acknowledged */
	uint8_t rx[SERIAL_RX_FIFO];
	unsigned rx_head, rx_len;
	int out_fd;
	/* Raise or lower the IRQ line (level-triggered); may be NULL. */
	void (*set_irq)(void *ctx, bool level);
	void *ctx;
	bool irq_level;
	uint64_t tx_bytes, rx_bytes;
};

void serial_init(struct serial *s, int out_fd, void (*set_irq)(void *, bool), void *ctx);
void serial_fini(struct serial *s);
/* A port access at offset (0-7 from the base), one byte wide. */
void serial_write(struct serial *s, unsigned offset, uint8_t value);
uint8_t serial_read(struct serial *s, unsigned offset);
/* Host bytes for the guest to read; returns how many fitted. */
size_t serial_input(struct serial *s, const uint8_t *buf, size_t len);

#endif
