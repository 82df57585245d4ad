/*
 * log.h -- one JSON object per line on stderr.
 * Messages are literal format strings; values that came from outside go
 * through log_kv() string fields, which are escaped.
 */
#ifndef ROLEHOOK_LOG_H
#define ROLEHOOK_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Sets the lowest level written (default LOG_INFO). */
void log_set_level(enum log_level lvl);

/*
 * Writes {"ts":..,"level":..,"msg":..} with msg formatted from fmt.
 * Thread-safe: one write(2) per line.
 */
void log_msg(enum log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Writes a line with msg and extra string fields given as a
 * NULL-terminated list of key, value pairs; NULL values are skipped.
 * Both keys and values are escaped.
 */
void log_kv(enum log_level lvl, const char *msg, ...)
    __attribute__((sentinel));

#endif
