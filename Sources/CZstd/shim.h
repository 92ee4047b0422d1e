// zstd's one-shot and streaming API. No logic lives here.
#include <zstd.h>
#include <zstd_errors.h>
