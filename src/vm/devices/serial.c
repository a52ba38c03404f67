/* 16550A UART register model (National Semiconductor PC16550D data sheet):
 * enough for Linux's 8250 driver and earlyprintk.  The transmitter is
 * always empty: a byte written to THR goes to the host fd at once. */
#include "vm/devices/serial.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

enum { RBR_THR = 0, IER = 1, IIR_FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

#define LCR_DLAB 0x80
#define IER_RDI 0x01  /* received data available */
#define IER_THRI 0x02 /* transmitter holding register empty */
#define IIR_NONE 0x01
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_FIFO 0xc0
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MCR_LOOP 0x10
#define MSR_DEFAULT 0xb0 /* DCD, DSR, CTS */
#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02

void serial_init(struct serial *s, int out_fd, void (*set_irq)(void *, bool), void *ctx)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->lsr = LSR_THRE | LSR_TEMT;
	s->msr = MSR_DEFAULT;
	s->out_fd = out_fd;
	s->set_irq = set_irq;
	s->ctx = ctx;
}

void serial_fini(struct serial *s)
{
	pthread_mutex_destroy(&s->lock);
}

static uint8_t iir(const struct serial *s)
{
	uint8_t fifo = (s->fcr & FCR_ENABLE) ? IIR_FIFO : 0;
	if ((s->ier & IER_RDI) && s->rx_len)
		return IIR_RDI | fifo;
	if ((s->ier & IER_THRI) && s->thr_ipending)
		return IIR_THRI | fifo;
	return IIR_NONE | fifo;
}

/* Lock held. */
static void update_irq(struct serial *s)
{
	bool level = !(iir(s) & IIR_NONE);
	if (level != s->irq_level && s->set_irq) {
		s->irq_level = level;
		s->set_irq(s->ctx, level);
	}
}

static void transmit(struct serial *s, uint8_t v)
{
	if (s->mcr & MCR_LOOP) {
		if (s->rx_len < SERIAL_RX_FIFO)
			s->rx[(s->rx_head + s->rx_len++) % SERIAL_RX_FIFO] = v;
	} else if (s->out_fd >= 0) {
		ssize_t n;
		do
			n = write(s->out_fd, &v, 1);
		while (n < 0 && errno == EINTR);
		s->tx_bytes++;
	}
	s->thr_ipending = true;
}

void serial_write(struct serial *s, unsigned offset, uint8_t v)
{
	if (offset >= SERIAL_NREGS)
		return;
	pthread_mutex_lock(&s->lock);
	bool dlab = s->lcr & LCR_DLAB;
	switch (offset) {
	case RBR_THR:
		if (dlab)
			s->dll = v;
		else
			transmit(s, v);
		break;
	case IER:
		if (dlab) {
			s->dlm = v;
		} else {
			/* Enabling THRI with the transmitter empty interrupts at once. */
			if ((v & IER_THRI) && !(s->ier & IER_THRI))
				s->thr_ipending = true;
			s->ier = v & 0x0f;
		}
		break;
	case IIR_FCR:
		s->fcr = v;
		if (v & FCR_CLEAR_RX)
			s->rx_len = 0;
		break;
	case LCR:
		s->lcr = v;
		break;
	case MCR:
		s->mcr = v & 0x1f;
		break;
	case SCR:
		s->scr = v;
		break;
	default: /* LSR and MSR are read-only */
		break;
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

uint8_t serial_read(struct serial *s, unsigned offset)
{
	if (offset >= SERIAL_NREGS)
		return 0xff;
	pthread_mutex_lock(&s->lock);
	bool dlab = s->lcr & LCR_DLAB;
	uint8_t v = 0;
	switch (offset) {
	case RBR_THR:
		if (dlab) {
			v = s->dll;
		} else if (s->rx_len) {
			v = s->rx[s->rx_head];
			s->rx_head = (s->rx_head + 1) % SERIAL_RX_FIFO;
			s->rx_len--;
		}
		break;
	case IER:
		v = dlab ? s->dlm : s->ier;
		break;
	case IIR_FCR:
		v = iir(s);
		if ((v & 0x0f) == IIR_THRI)
			s->thr_ipending = false; /* reading IIR acknowledges THRE */
		break;
	case LCR:
		v = s->lcr;
		break;
	case MCR:
		v = s->mcr;
		break;
	case LSR:
		v = s->lsr | (s->rx_len ? LSR_DR : 0);
		break;
	case MSR:
		/* In loopback the modem inputs mirror MCR's outputs. */
		v = (s->mcr & MCR_LOOP) ? (uint8_t)(((s->mcr & 0x0c) << 4) | ((s->mcr & 0x03) << 4))
					: s->msr;
		break;
	case SCR:
		v = s->scr;
		break;
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return v;
}

size_t serial_input(struct serial *s, const uint8_t *buf, size_t len)
{
	pthread_mutex_lock(&s->lock);
	size_t n = 0;
	while (n < len && s->rx_len < SERIAL_RX_FIFO) {
		s->rx[(s->rx_head + s->rx_len++) % SERIAL_RX_FIFO] = buf[n++];
		s->rx_bytes++;
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}
