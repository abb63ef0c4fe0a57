/* Found by make fuzz (seed 2, shard 12): auto's peel left a piece (S1_b4_peel)
   outside the original order, a KeyError; peel now refuses, and auto goes on. */
#include <math.h>
void min(int S0, double max, double A[S0], double B[S0], double C[S0][S0], double polyad_trace[S0][S0])
{
  double floord = 0.0;
#pragma scop
  for (int _acc1 = 1; _acc1 < S0 - 1; _acc1++) {
    for (int j = _acc1 + 1; j < S0 - 1; j++) {
      for (int kk = 1; kk < S0 - 1; kk++) {
        A[j + 1] -= fmax(polyad_trace[_acc1][kk + 1], ((C[kk][j] - B[_acc1 + 1]) - (1.25 + B[j - 1])));
      }
      for (int kk = 1; kk < S0 - 1; kk++) {
        C[j][j - 1] *= fmax((A[j + 1] > 2.0 ? A[j + 1] : 2.0), polyad_trace[j][_acc1]);
      }
    }
    for (int j = _acc1 + 1; j < S0 - 1; j++) {
      floord = A[j];
      floord += polyad_trace[j + 1][j - 1];
      B[_acc1] = ((A[j - 1] - B[j + 1]) > fmin(A[_acc1 - 1], (A[j + 1] > A[_acc1 - 1] ? A[j + 1] : A[_acc1 - 1])) ? (A[j - 1] - B[j + 1]) : fmin(A[_acc1 - 1], (A[j + 1] > A[_acc1 - 1] ? A[j + 1] : A[_acc1 - 1])));
    }
  }
  for (int _acc1 = S0 - 2; _acc1 >= 1; _acc1--) {
    polyad_trace[_acc1 + 1][_acc1 + 1] *= (2.0 > floord ? 2.0 : floord);
    floord += polyad_trace[_acc1][_acc1 + 1];
  }
#pragma endscop
}
