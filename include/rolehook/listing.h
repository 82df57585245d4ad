/*
 * listing.h -- Zendesk listings read whole (every agent and admin, every
 * group membership of the account), and the memberships indexed by user
 * so that one listing answers what would be one request per person
 * (report seats, reconcile).
 */
#ifndef ROLEHOOK_LISTING_H
#define ROLEHOOK_LISTING_H

#include <stddef.h>
#include <stdint.h>

#include "rolehook/zendesk.h"

struct json_object;

enum listing_kind {
	LISTING_AGENTS,       /* zd_list_agents, 100 a page */
	LISTING_MEMBERSHIPS   /* zd_list_all_memberships */
};

/* Called after each page with the number of objects collected so far. */
typedef void (*listing_progress_fn)(size_t n, void *arg);

/*
 * Reads every page of one listing, from its first page again when
 * Zendesk is busy or limits the rate: three tries, waiting its
 * Retry-After when under a minute, else 1 then 2 s.  progress (may be
 * NULL) sees each page.  *out gets the objects of the last try (a new
 * array, caller puts; non-objects are dropped; partial when it failed),
 * or NULL with *oom set when memory ran out.  Returns the last result
 * (res says why when not ZD_OK).
 */
enum zd_result listing_all(struct zd_client *zd, enum listing_kind kind,
    listing_progress_fn progress, void *arg, struct json_object **out,
    int *oom, struct zd_response *res);

struct listing_index;

/*
 * Indexes mships (an array of group membership objects, borrowed: it
 * must outlive the index) by user_id, then id; members without both
 * ids are left out.  Returns the index (free with listing_index_free),
 * or NULL out of memory.
 */
struct listing_index *listing_index_new(struct json_object *mships);

/*
 * uid's memberships as GET /api/v2/users/{uid}/group_memberships.json
 * (zd_list_memberships) collects them: a new {"group_memberships":
 * [...]} (caller puts) in id order, each once (a listing that shifted
 * while paging may repeat one).  The memberships are copies, sharing
 * nothing with the index or another caller's answer, so threads may ask
 * at once and use their answers freely (json-c's reference counts are
 * not atomic).  NULL out of memory.
 */
struct json_object *listing_index_user(const struct listing_index *ix,
    int64_t uid);

/* Frees ix (not the memberships).  NULL is a no-op. */
void listing_index_free(struct listing_index *ix);

#endif
