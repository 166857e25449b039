#include "util/beside.h"

void beside_start(struct beside *b, void *(*fn)(void *arg), void *arg)
{
    b->threaded = pthread_create(&b->th, NULL, fn, arg) == 0;
    if (!b->threaded)
        fn(arg);
}

void beside_join(struct beside *b)
{
    if (b->threaded)
        pthread_join(b->th, NULL);
    b->threaded = false;
}
