// The bare Open MPI all-reduce of the mid model's gradient arena (3,257,856 floats), to tell
// the all-reduce's own cost from the wait for a slower rank in hyper's comm_ms (bench/RESULTS.md).
// mpicc -O2 allreduce.c -o allreduce && mpirun -np 2 ./allreduce
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
int main(int c, char** v) {
  MPI_Init(&c, &v); int r; MPI_Comm_rank(MPI_COMM_WORLD, &r);
  int n = 3257856; float* x = calloc(n, 4);
  for (int rep = 0; rep < 3; rep++) {
    MPI_Barrier(MPI_COMM_WORLD); double t = MPI_Wtime();
    for (int i = 0; i < 20; i++) MPI_Allreduce(MPI_IN_PLACE, x, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    t = (MPI_Wtime() - t) / 20;
    if (r == 0) printf("allreduce of %d floats (%.1f MB): %.2f ms\n", n, n * 4 / 1e6, t * 1e3);
  }
  MPI_Finalize(); return 0;
}
