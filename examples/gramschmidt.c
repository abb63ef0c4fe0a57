#include <math.h>
/* gramschmidt: modified Gram-Schmidt QR of a tall m x n matrix, A = Q*R (A is overwritten).
 * inputs: A   outputs: Q, R, A
 * polyad-sizes: small m=10 n=8; medium m=240 n=200
 * polyad-init: init_gramschmidt
 */
void gramschmidt(int m, int n, double A[m][n], double R[n][n], double Q[m][n])
{
  int i, j, k;
  double nrm;
#pragma scop
  for (k = 0; k < n; k++) {
    nrm = 0.0;
    for (i = 0; i < m; i++)
      nrm += A[i][k] * A[i][k];
    R[k][k] = sqrt(nrm);
    for (i = 0; i < m; i++)
      Q[i][k] = A[i][k] / R[k][k];
    for (j = k + 1; j < n; j++) {
      R[k][j] = 0.0;
      for (i = 0; i < m; i++)
        R[k][j] += Q[i][k] * A[i][j];
      for (i = 0; i < m; i++)
        A[i][j] = A[i][j] - Q[i][k] * R[k][j];
    }
  }
#pragma endscop
}

/* Identity on top plus small perturbations: full column rank, well conditioned. */
void init_gramschmidt(int m, int n, double A[m][n], double R[n][n], double Q[m][n])
{
  int i, j;
  for (i = 0; i < m; i++)
    for (j = 0; j < n; j++) {
      A[i][j] = (double)((i * 7 + j * 13) % 17) / (17.0 * n) + (i == j ? 1.0 : 0.0);
      Q[i][j] = 0.0;
    }
  for (i = 0; i < n; i++)
    for (j = 0; j < n; j++)
      R[i][j] = 0.0;
}
