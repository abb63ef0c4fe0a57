/* A switch on int data (each element's label picks its formula) and one on
   an iterator, lowered to if/else. Inputs label (0 to 3), x; output y. */
#include <math.h>
void classes(int n, int label[n], double x[n], double y[n]) {
  for (int i = 0; i < n; i++) {
    switch (label[i]) {
      case 0: y[i] = x[i] * x[i]; break;
      case 1:
      case 2: y[i] = sin(x[i]); break;
      default: y[i] = 0.5 * x[i];
    }
    switch (i % 3) {
      case 0: y[i] += 1.0; break;
      default: break;
    }
  }
}
