/*
 * caltime.h -- calendar arithmetic for the date parsers (verify's RFC
 * 3339 timestamps, normalize's HR dates): pure, no struct tm, no time
 * zone, no locale.
 */
#ifndef ROLEHOOK_CALTIME_H
#define ROLEHOOK_CALTIME_H

#include <stddef.h>
#include <stdint.h>

/*
 * Exactly n ASCII digits at s, as a number in *out.  Returns 0, or -1
 * (a non-digit; *out unchanged).  n at most 9.
 */
int caltime_digits(const char *s, size_t n, int *out);

/* Days in month m (1-12) of proleptic Gregorian year y; 0 when m is
 * out of range. */
int caltime_days_in_month(int y, int m);

/* Days since 1970-01-01 of the proleptic Gregorian date y-m-d, y >= 1
 * (Howard Hinnant's days_from_civil). */
int64_t caltime_days_from_civil(int y, int m, int d);

#endif
