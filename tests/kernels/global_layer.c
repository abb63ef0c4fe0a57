/* A tanh layer on file-scope globals (docs/kernel-language.md): weights W
   and bias (inputs), scale (a double input), the output h; the arrays have
   the constant extent N and the loops run to n, so n <= N is assumed. */
#include <math.h>
#define N 20

double W[N][N];
double bias[N];
double h[N];
double scale = 0.5;

void layer(int n, double x[N]) {
  for (int i = 0; i < n; i++) {
    h[i] = bias[i];
    for (int j = 0; j < n; j++)
      h[i] += W[i][j] * x[j];
    h[i] = scale * tanh(h[i]);
  }
}
