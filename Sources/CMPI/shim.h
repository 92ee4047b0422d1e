// OpenMPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, MPI_IN_PLACE, ...) are macros over incomplete
// globals that Swift cannot import; these static inline functions return them. No logic lives here.
#include <mpi.h>

static inline MPI_Comm carina_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype carina_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype carina_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype carina_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype carina_mpi_int32(void) { return MPI_INT32_T; }
static inline MPI_Datatype carina_mpi_uint8(void) { return MPI_UINT8_T; }
static inline MPI_Op carina_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op carina_mpi_max(void) { return MPI_MAX; }
static inline MPI_Op carina_mpi_min(void) { return MPI_MIN; }
static inline void *carina_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Errhandler carina_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline MPI_Request carina_mpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline MPI_Status *carina_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline int carina_mpi_any_source(void) { return MPI_ANY_SOURCE; }
