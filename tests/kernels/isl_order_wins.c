/* A random kernel (tests/polyad/kernelgen.py) on which auto takes isl's
   schedule of the reverse sweep over the plain reversal. */
#include <math.h>
void k(int n, double alpha, double A[n], double B[n], double C[n][n], double D[n][n])
{
  double s = 0.0;
#pragma scop
  for (int i = n - 2; i >= 1; i--) {
    B[i] += (fabs(D[i - 1][i - 1]) - 2.0);
    for (int j = 1; j < n - 1; j++) {
      B[j] = fmin((C[j + 1][i]) / (1.5 + (0.5 * D[i - 1][j + 1]) * (0.5 * D[i - 1][j + 1])), (fmax(D[j][j], C[i - 1][j - 1]) > s ? fmax(D[j][j], C[i - 1][j - 1]) : s));
    }
  }
  for (int i = n - 2; i >= 1; i--) {
    for (int j = i + 1; j < n - 1; j++) {
      s = sqrt(D[j][i + 1] * D[j][i + 1] + 1.0);
      s += ((A[j] * B[j]) > fmax(B[i], cos(s)) ? (A[j] * B[j]) : fmax(B[i], cos(s)));
      A[i] = D[i - 1][i];
      D[j][j] = log(C[j - 1][i + 1] * C[j - 1][i + 1] + 1.0);
    }
  }
#pragma endscop
}
