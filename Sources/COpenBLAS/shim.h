// OpenBLAS's CBLAS interface (cblas_sgemm, openblas_set_num_threads). No logic lives here.
#include <cblas.h>
