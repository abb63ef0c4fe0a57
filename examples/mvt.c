/* mvt: x1 := x1 + A*y1 and x2 := x2 + A^T*y2.
 * inputs: A, x1, x2, y1, y2   outputs: x1, x2
 * polyad-sizes: small n=10; medium n=1000
 */
void mvt(int n, double A[n][n], double x1[n], double x2[n],
         double y1[n], double y2[n])
{
#pragma scop
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      x1[i] += A[i][j] * y1[j];
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      x2[i] += A[j][i] * y2[j];
#pragma endscop
}
