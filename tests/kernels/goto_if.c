/* The goto patterns of an if, lowered to if/else: a branch on data
   (goto big ... goto done) and a skip on an affine condition (goto skip).
   Input x; output y. */
void f(int n, double x[n], double y[n]) {
  for (int i = 0; i < n; i++) {
    if (x[i] > 0.5) goto big;
    y[i] = x[i] * x[i];
    goto done;
  big:
    y[i] = 2.0 * x[i];
  done:
    y[i] += 1.0;
    if (i == 0) goto skip;
    y[i] *= x[i - 1];
  skip: ;
  }
}
