// zlib's gzip file API (gzopen/gzread), for importers reading dataset label files shipped as .csv.gz. No logic lives here.
#include <zlib.h>
