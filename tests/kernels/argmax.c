/* Two searches on data: k, where a is largest (the maximum m kept beside
   it), and l, where x is smallest (compared through x[l] itself); then
   reads through the indices found. Inputs a, x; output y. */
void argmax(int n, double a[n], double x[n], double y[2]) {
  double m = a[0];
  int k = 0, l = 0;
  for (int i = 1; i < n; i++) {
    if (a[i] > m) { m = a[i]; k = i; }
    if (x[i] < x[l]) l = i;
  }
  y[0] = x[k] * m;
  y[1] = a[l] * (double) (k + 1);
}
