/* Found by the random-kernel tests (make fuzz, seed 1, shard 13): in auto, peel
   split off every instance of S5_b0 (a meeting set equal to its domain but not
   written the same way), leaving a piece without instances: a KeyError. */
#include <math.h>
void A_d(int n, double alpha, double A[n], double k_b_loop0[n], double C[n][n], double D[n][n])
{
  double s = 0.0;
#pragma scop
  for (int c2 = 1; c2 < n - 1; c2++) {
    s += (A[c2] * D[c2 - 1][c2 - 1]);
  }
  for (int c2 = 1; c2 < n - 1; c2++) {
    for (int j = 1; j < n - 1; j++) {
      for (int _written = c2 + 1; _written < n - 1; _written++) {
        C[_written + 1][_written - 1] -= cos((alpha * (1.25 > 1.25 ? 1.25 : 1.25)));
        A[j + 1] = pow(fmax(2.0, fmax(D[_written][j], 3)), 2.0);
      }
      for (int _written = c2 + 1; _written < n - 1; _written++) {
        C[c2][_written] = A[c2 - 1];
        D[j + 1][c2 - 1] += fmax((k_b_loop0[j - 1]) / (1.5 + (A[c2] + C[j + 1][c2]) * (A[c2] + C[j + 1][c2])), ((A[j - 1] > k_b_loop0[j] ? A[j - 1] : k_b_loop0[j])) / (1.5 + A[_written - 1] * A[_written - 1]));
      }
    }
    for (int j = 1; j < c2; j++) {
      for (int _written = 1; _written < n - 1; _written++) {
        A[j] -= (fmax(k_b_loop0[j], (A[c2]) / (1.5 + alpha * alpha)) + (alpha - (3 + 2.0)));
        k_b_loop0[c2 - 1] = D[j + 1][_written] = A[c2];
      }
      s = (2.0 * fmax((k_b_loop0[c2 - 1]) / (1.5 + k_b_loop0[c2] * k_b_loop0[c2]), alpha));
      s += (C[j][c2]) / (1.5 + (D[j][j + 1] * D[c2 - 1][c2 + 1]) * (D[j][j + 1] * D[c2 - 1][c2 + 1]));
      D[j][c2 + 1] = fabs(k_b_loop0[c2]);
    }
  }
#pragma endscop
}
