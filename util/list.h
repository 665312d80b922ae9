#pragma once

/*
 * Intrusive circular doubly-linked list. An unlinked node points at itself,
 * so list_unlink() is idempotent and list_is_linked() is cheap.
 */

#include <stdbool.h>
#include "util/macro.h"

typedef struct List {
        struct List *next;
        struct List *prev;
} List;

#define LIST_INIT(name) { &(name), &(name) }

static inline void list_init(List *l) {
        l->next = l->prev = l;
}

static inline bool list_is_empty(const List *l) {
        return l->next == l;
}

static inline bool list_is_linked(const List *n) {
        return n->next != n;
}

static inline void list_insert_before(List *where, List *n) {
        n->prev = where->prev;
        n->next = where;
        where->prev->next = n;
        where->prev = n;
}

static inline void list_append(List *head, List *n) {
        list_insert_before(head, n);
}

static inline void list_unlink(List *n) {
        n->prev->next = n->next;
        n->next->prev = n->prev;
        list_init(n);
}

#define list_entry(ptr, type, member) container_of(ptr, type, member)

#define list_for_each(pos, head) for (List *pos = (head)->next; pos != (head); pos = pos->next)

/* Safe against unlinking the current node. */
#define list_for_each_safe(pos, head)                                             \
        for (List *pos = (head)->next, *pos##_next_ = pos->next; pos != (head); \
             pos = pos##_next_, pos##_next_ = pos->next)
