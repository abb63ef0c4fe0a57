/* Found by the random-kernel tests: at n = 4 the kk loop runs no iteration, and the
   layers layout asked isl for the bounds of an empty loop (a NaN). */
#include <math.h>
void k(int n, double alpha, double A[n], double B[n], double C[n][n], double D[n][n])
{
  double s = 0.0;
#pragma scop
  for (int i = 1; i < n - 1; i++) {
    for (int j = i + 1; j < n - 1; j++) {
      for (int kk = 1; kk < i; kk++) {
        A[i - 1] = A[i];
      }
    }
    s += A[i - 1];
  }
  for (int t = 0; t < 2; t++) {
    for (int i = 1; i < n - 1; i++)
      B[i] = 0.25 * (A[i - 1] + A[i] * A[i - 1] + A[i + 1]);
    for (int i = 1; i < n - 1; i++)
      A[i] = 0.25 * (B[i - 1] + B[i] * A[i - 1] + B[i + 1]);
  }
#pragma endscop
}
