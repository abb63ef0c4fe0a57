"""PolyBench-style code as a new user writes it: every quirk here must be
accepted and modelled exactly.

Each case is a whole C file. The test checks the statements polyad finds
(their number and, with isl ``is_equal``, their iteration domains against
sets written by hand from the C semantics), some access relations and
execution orders, and then the primal: the original file compiled by the
system compiler and the code regenerated from the model must give bitwise
identical outputs on random inputs.
"""

from __future__ import annotations

from pathlib import Path

import islpy as isl

import polyad
from polyad.check import verify
from polyad.model.kernel import union_of_sets


def parse_file(tmp_path: Path, text: str, function: str | None = None,
               name: str = "kernel.c"):
    path = tmp_path / name
    path.write_text(text)
    return polyad.parse(str(path), function=function)


def assert_domains(kernel, expected: dict[str, str]) -> None:
    assert [s.name for s in kernel.statements] == list(expected), \
        [f"{s.name}: {s.text}" for s in kernel.statements]
    for statement in kernel.statements:
        want = isl.Set(expected[statement.name])
        assert statement.domain.is_equal(want), (
            f"{statement.name} ({statement.text}): got {statement.domain}, want {want}")


def assert_primal(kernel, *size_sets: dict[str, int]) -> None:
    for seed, sizes in enumerate(size_sets):
        values = verify.kernel_inputs(kernel, sizes, seed)
        result = verify.check_primal(kernel, values)
        assert result["ok"], f"{kernel.name} at {sizes}: {result['detail']}"


def order(kernel) -> isl.UnionMap:
    """Instance a -> instance b when a runs before b."""
    domain = union_of_sets([s.domain for s in kernel.statements])
    schedule = kernel.schedule.get_map().intersect_domain(domain)
    return schedule.lex_lt_union_map(schedule)


def writes(kernel) -> list[str]:
    return [s.write.array for s in kernel.statements]


# -----------------------------------------------------------------------------
def test_static_kernel_with_helper_and_main(tmp_path):
    text = """\
#include <stdio.h>
#include <stdlib.h>

static void init_array(int n, double A[n][n])
{
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      A[i][j] = (double)(i + j) / n;
}

static void kernel_lu(int n, double A[n][n])
{
  int i, j, k;
#pragma scop
  for (i = 0; i < n; i++) {
    for (j = 0; j < i; j++) {
      for (k = 0; k < j; k++)
        A[i][j] -= A[i][k] * A[k][j];
      A[i][j] /= A[j][j];
    }
    for (j = i; j < n; j++)
      for (k = 0; k < i; k++)
        A[i][j] -= A[i][k] * A[k][j];
  }
#pragma endscop
}

int main(int argc, char **argv)
{
  int n = argc > 1 ? atoi(argv[1]) : 100;
  double (*A)[n] = malloc(sizeof(double) * n * n);
  init_array(n, A);
  kernel_lu(n, A);
  printf("%g\\n", A[n - 1][n - 1]);
  free(A);
  return 0;
}
"""
    chosen = parse_file(tmp_path, text)  # the function holding #pragma scop
    kernel = parse_file(tmp_path, text, function="kernel_lu")
    assert chosen.name == kernel.name == "kernel_lu"
    assert_domains(kernel, {
        "S0": "[n] -> { S0[i, j, k] : 0 <= k < j < i < n }",
        "S1": "[n] -> { S1[i, j] : 0 <= j < i < n }",
        "S2": "[n] -> { S2[i, j, k] : 0 <= k < i <= j < n }",
    })
    helper = parse_file(tmp_path, text, function="init_array")
    assert_domains(helper, {"S0": "[n] -> { S0[i, j] : 0 <= i < n and 0 <= j < n }"})
    assert kernel.statements[1].location.line == 19
    assert_primal(kernel, {"n": 9})
    assert_primal(helper, {"n": 5})


def test_size_macros_and_data_type_macros(tmp_path):
    text = """\
#define N 12
#define M 5
#define _PB_N n
#define DATA_TYPE double
#define SCALAR_VAL(x) x
#define POLYBENCH_2D(var, d1, d2, ddim1, ddim2) var[ddim1][ddim2]

void kernel_scale(int n, DATA_TYPE alpha, DATA_TYPE POLYBENCH_2D(A, N, M, n, M),
                  DATA_TYPE c[N])
{
  int i, j;
#pragma scop
  for (i = 0; i < _PB_N; i++)
    for (j = 0; j < M; j++)
      A[i][j] = alpha * A[i][j] + SCALAR_VAL(0.5);
  for (i = 0; i < N; i++)
    c[i] = SCALAR_VAL(1.0) / (i + 1);
#pragma endscop
}
"""
    kernel = parse_file(tmp_path, text)
    assert kernel.params == ("n",)
    assert [a.name for a in kernel.arrays] == ["alpha", "A", "c"]
    assert_domains(kernel, {
        "S0": "[n] -> { S0[i, j] : 0 <= i < n and 0 <= j <= 4 }",
        "S1": "[n] -> { S1[i] : 0 <= i <= 11 }",
    })
    assert kernel.array("A").shape({"n": 3}) == (3, 5)
    assert kernel.array("c").shape({"n": 3}) == (12,)
    assert_primal(kernel, {"n": 7})


def test_restrict_and_const_qualifiers(tmp_path):
    text = """\
void kernel_mv(const int n, int m, double y[restrict n],
               const double A[const restrict n][m], double const x[m])
{
  for (int i = 0; i < n; i++) {
    y[i] = 0.0;
    for (int j = 0; j < m; j++)
      y[i] += A[i][j] * x[j];
  }
}
"""
    kernel = parse_file(tmp_path, text)
    assert kernel.params == ("n", "m")
    assert {a.name: a.role for a in kernel.arrays} == {"y": "output", "A": "input",
                                                       "x": "input"}
    assert_domains(kernel, {
        "S0": "[n, m] -> { S0[i] : 0 <= i < n }",
        "S1": "[n, m] -> { S1[i, j] : 0 <= i < n and 0 <= j < m }",
    })
    assert_primal(kernel, {"n": 6, "m": 4})


def test_prefix_increments_and_decreasing_loops(tmp_path):
    text = """\
void kernel_sweep(int n, double x[n], double y[n][n])
{
  int i, j;
#pragma scop
  for (i = 1; i < n; ++i)
    x[i] = x[i] + x[i - 1];
  for (i = n - 2; i >= 0; --i)
    x[i] = x[i] - 0.5 * x[i + 1];
  for (i = n - 1; i > 0; i--)
    for (j = n; j > i; j--)
      y[i][j - 1] = y[i][j - 1] * x[i] + y[i - 1][j - 1];
#pragma endscop
}
"""
    kernel = parse_file(tmp_path, text)
    assert_domains(kernel, {
        "S0": "[n] -> { S0[i] : 1 <= i < n }",
        "S1": "[n] -> { S1[i] : 0 <= i <= n - 2 }",
        "S2": "[n] -> { S2[i, j] : 0 < i < j <= n }",
    })
    before = order(kernel)
    # the decreasing loops run from the top down
    assert isl.UnionMap("[n] -> { S1[i] -> S1[i - 1] : 1 <= i <= n - 2 }").is_subset(before)
    assert isl.UnionMap("[n] -> { S2[i, j] -> S2[i, j - 1] : 0 < i < j - 1 < n }"
                        ).is_subset(before)
    assert isl.UnionMap("[n] -> { S2[i, j] -> S2[i - 1, j'] : "
                        "1 < i < j <= n and i - 1 < j' <= n }").is_subset(before)
    assert_primal(kernel, {"n": 8})


def test_strides(tmp_path):
    text = """\
void kernel_strided(int n, double a[n], double b[n])
{
  int i;
#pragma scop
  for (i = 0; i < n; i += 2)
    a[i] = 2.0 * a[i];
  for (i = n - 1; i >= 0; i -= 3)
    b[i] = b[i] + a[i];
  for (i = 1; i < n; i = i + 4)
    a[i] = b[i - 1];
#pragma endscop
}
"""
    kernel = parse_file(tmp_path, text)
    assert_domains(kernel, {
        "S0": "[n] -> { S0[i] : 0 <= i < n and exists k : i = 2k }",
        "S1": "[n] -> { S1[i] : 0 <= i < n and exists k : i = n - 1 - 3k }",
        "S2": "[n] -> { S2[i] : 1 <= i < n and exists k : i = 1 + 4k }",
    })
    assert_primal(kernel, {"n": 11}, {"n": 12})


def test_iterators_declared_in_the_loop_header(tmp_path):
    text = """\
void kernel_two_loops(int n, int m, double A[n][m], double s[n])
{
#pragma scop
  for (int i = 0; i < n; i++) {
    s[i] = 0.0;
    for (int j = 0; j < m; j++)
      s[i] += A[i][j];
  }
  for (int i = 0; i < n; i++)
    for (int j = 0; j < m; j++)
      A[i][j] = A[i][j] - s[i];
#pragma endscop
}
"""
    kernel = parse_file(tmp_path, text)
    assert_domains(kernel, {
        "S0": "[n, m] -> { S0[i] : 0 <= i < n }",
        "S1": "[n, m] -> { S1[i, j] : 0 <= i < n and 0 <= j < m }",
        "S2": "[n, m] -> { S2[i, j] : 0 <= i < n and 0 <= j < m }",
    })
    assert_primal(kernel, {"n": 5, "m": 6})


def test_min_and_max_in_bounds(tmp_path):
    text = """\
#define min(a, b) ((a) < (b) ? (a) : (b))
#define MAX(x, y) \\
  ((x) > (y) ? \\
   (x) : (y))

void kernel_band(int n, int m, double A[n][n], double x[n])
{
  int i, j;
#pragma scop
  for (i = 0; i < n; i++)
    for (j = MAX(0, i - 2); j < min(n, i + 3); j++)
      A[i][j] = A[i][j] + x[j];
  for (i = 0; i < (m < n ? m : n); i++)
    x[i] = x[i] * 0.5;
#pragma endscop
}
"""
    kernel = parse_file(tmp_path, text)
    assert_domains(kernel, {
        "S0": "[n, m] -> { S0[i, j] : 0 <= i < n and 0 <= j < n and i - 2 <= j <= i + 2 }",
        "S1": "[n, m] -> { S1[i] : 0 <= i < n and i < m }",
    })
    assert_primal(kernel, {"n": 7, "m": 4}, {"n": 5, "m": 9})


def test_floor_division_in_bounds_and_subscripts(tmp_path):
    text = """\
void kernel_halves(int n, double x[n], double y[n])
{
  int i;
#pragma scop
  for (i = 0; i <= (n - 1) / 2; i++)
    y[i] = x[2 * i];
  for (i = n / 2; i < n; i++)
    y[i] = x[i / 2] + x[(i + 1) / 3];
#pragma endscop
}
"""
    kernel = parse_file(tmp_path, text)
    assert_domains(kernel, {
        # C's division truncates: (n - 1) / 2 is 0 for n = 0
        "S0": "[n] -> { S0[i] : (i >= 0 and 2i <= n - 1) or (n = 0 and i = 0) }",
        "S1": "[n] -> { S1[i] : i < n and exists q : (n = 2q or n = 2q + 1) and i >= q }",
    })
    reads = [a.relation for a in kernel.statements[1].reads]
    assert reads[0].is_equal(isl.Map(
        "[n] -> { S1[i] -> x[a] : i < n and exists q : (n = 2q or n = 2q + 1) and i >= q "
        "and (i = 2a or i = 2a + 1) }"))
    assert_primal(kernel, {"n": 9}, {"n": 10})


def test_spacing_and_subscripts_in_any_order(tmp_path):
    text = """\
void kernel_spacing ( int n , int m , double A [ n ] [ m ] , double x[n + 1] )
{
  for (int i = 0 ; i < n ; i ++)
    for (int j = 0; j < m; j++)
      A [i] [j]   =   A [ i ] [ j ] + x[1+i] * x [ n - i ];
}
"""
    kernel = parse_file(tmp_path, text)
    assert_domains(kernel, {"S0": "[n, m] -> { S0[i, j] : 0 <= i < n and 0 <= j < m }"})
    relations = {a.text: a.relation for a in kernel.statements[0].reads}
    assert relations["x[1 + i]"].is_equal(isl.Map(
        "[n, m] -> { S0[i, j] -> x[1 + i] : 0 <= i < n and 0 <= j < m }"))
    assert relations["x[n - i]"].is_equal(isl.Map(
        "[n, m] -> { S0[i, j] -> x[n - i] : 0 <= i < n and 0 <= j < m }"))
    assert kernel.statements[0].location.col == 7
    assert_primal(kernel, {"n": 4, "m": 3})


def test_chained_assignment_and_compound_operators(tmp_path):
    text = """\
void kernel_chain(int n, double A[n], double B[n], double x[n])
{
  double t;
#pragma scop
  for (int i = 0; i < n; i++) {
    A[i] = B[i] = t = x[i] * 2.0;
    A[i] += t;
    B[i] -= 1.0;
    A[i] *= B[i];
    B[i] /= 4.0;
  }
#pragma endscop
}
"""
    kernel = parse_file(tmp_path, text)
    domain = "[n] -> {{ {0}[i] : 0 <= i < n }}"
    assert_domains(kernel, {f"S{k}": domain.format(f"S{k}") for k in range(7)})
    assert writes(kernel) == ["t", "B", "A", "A", "B", "A", "B"]
    assert_primal(kernel, {"n": 6})


def test_casts_of_integers_to_double(tmp_path):
    text = """\
void kernel_cast(int n, int m, double x[n], double mean[1])
{
  mean[0] = 0.0;
  for (int i = 0; i < n; i++) {
    x[i] = x[i] * (double)n + (double)(i + 1) / m + (double) i / n + i;
    mean[0] += x[i] / (double)n;
  }
}
"""
    kernel = parse_file(tmp_path, text)
    assert_domains(kernel, {
        "S0": "[n, m] -> { S0[] }",
        "S1": "[n, m] -> { S1[i] : 0 <= i < n }",
        "S2": "[n, m] -> { S2[i] : 0 <= i < n }",
    })
    assert_primal(kernel, {"n": 7, "m": 3})


def test_if_else_with_logic(tmp_path):
    text = """\
void kernel_cond(int n, double A[n][n])
{
  int i, j;
#pragma scop
  for (i = 0; i < n; i++)
    for (j = 0; j < n; j++)
      if ((i < j && !(j == n - 1)) || i == 0)
        A[i][j] = A[i][j] + 1.0;
      else if (i % 2 == 0 && j <= 3)
        A[i][j] = 0.0;
      else
        A[i][j] = -A[i][j];
#pragma endscop
}
"""
    kernel = parse_file(tmp_path, text)
    full = "0 <= i < n and 0 <= j < n"
    first = "((i < j and j != n - 1) or i = 0)"
    second = "(exists k : i = 2k) and j <= 3"
    assert_domains(kernel, {
        "S0": f"[n] -> {{ S0[i, j] : {full} and {first} }}",
        "S1": f"[n] -> {{ S1[i, j] : {full} and not {first} and {second} }}",
        "S2": f"[n] -> {{ S2[i, j] : {full} and not {first} and not ({second}) }}",
    })
    assert_primal(kernel, {"n": 7})


def test_statements_outside_loops_in_the_region(tmp_path):
    text = """\
void kernel_norm(int n, double x[n], double out[2])
{
  double s, eps;
#pragma scop
  s = 0.0;
  eps = 1e-3;
  for (int i = 0; i < n; i++)
    s += x[i] * x[i];
  out[0] = s + eps;
  for (int i = 0; i < n; i++)
    x[i] = x[i] / out[0];
  out[1] = x[n - 1];
#pragma endscop
}
"""
    kernel = parse_file(tmp_path, text)
    assert_domains(kernel, {
        "S0": "[n] -> { S0[] }", "S1": "[n] -> { S1[] }",
        "S2": "[n] -> { S2[i] : 0 <= i < n }", "S3": "[n] -> { S3[] }",
        "S4": "[n] -> { S4[i] : 0 <= i < n }", "S5": "[n] -> { S5[] }",
    })
    before = order(kernel)
    assert isl.UnionMap("[n] -> { S0[] -> S1[]; S1[] -> S2[i] : 0 <= i < n; "
                        "S2[i] -> S3[] : 0 <= i < n; S3[] -> S4[i] : 0 <= i < n; "
                        "S4[i] -> S5[] : 0 <= i < n }").is_subset(before)
    assert_primal(kernel, {"n": 5})


def test_whole_body_without_pragmas_and_initialised_locals(tmp_path):
    text = """\
void kernel_smooth(int n, double x[n], double y[n])
{
  double eps = 0.1;
  double t;
  int i;
  for (i = 1; i < n - 1; i++) {
    t = x[i - 1] + x[i] + x[i + 1];
    y[i] = t / 3.0 + eps;
  }
  y[0] = x[0];
  y[n - 1] = x[n - 1];
}
"""
    kernel = parse_file(tmp_path, text)
    assert_domains(kernel, {
        "S0": "[n] -> { S0[] }",
        "S1": "[n] -> { S1[i] : 1 <= i <= n - 2 }",
        "S2": "[n] -> { S2[i] : 1 <= i <= n - 2 }",
        "S3": "[n] -> { S3[] }",
        "S4": "[n] -> { S4[] }",
    })
    assert kernel.statements[0].text == "double eps = 0.1;"
    assert {a.name: a.role for a in kernel.arrays}["eps"] == "temporary"
    assert_primal(kernel, {"n": 6}, {"n": 2})


def test_local_variable_length_arrays(tmp_path):
    text = """\
void kernel_tmp(int n, int m, double A[n][m], double y[n])
{
  double z[n];
  double w[n][m];
#pragma scop
  for (int i = 0; i < n; i++) {
    z[i] = 0.0;
    for (int j = 0; j < m; j++) {
      w[i][j] = A[i][j] * A[i][j];
      z[i] += w[i][j];
    }
    y[i] = z[i];
  }
#pragma endscop
}
"""
    kernel = parse_file(tmp_path, text)
    roles = {a.name: (a.role, a.storage) for a in kernel.arrays}
    assert roles["z"] == roles["w"] == ("temporary", "local")
    assert kernel.array("w").shape({"n": 3, "m": 2}) == (3, 2)
    assert len(kernel.statements) == 4
    assert_primal(kernel, {"n": 4, "m": 5})


def test_locals_declared_again_in_sibling_blocks(tmp_path):
    text = """\
void kernel_rows(int n, int m, double A[n][m], double r[n], double c[m])
{
  for (int i = 0; i < n; i++) {
    double s = 0.0;
    int j;
    for (j = 0; j < m; j++)
      s += A[i][j];
    r[i] = s;
  }
  for (int j = 0; j < m; j++) {
    double s = 0.0;
    int i;
    for (i = 0; i < n; i++)
      s += A[i][j];
    c[j] = s;
  }
}
"""
    kernel = parse_file(tmp_path, text)
    assert [a.name for a in kernel.arrays if a.storage == "local"] == ["s"]
    assert_domains(kernel, {
        "S0": "[n, m] -> { S0[i] : 0 <= i < n }",
        "S1": "[n, m] -> { S1[i, j] : 0 <= i < n and 0 <= j < m }",
        "S2": "[n, m] -> { S2[i] : 0 <= i < n }",
        "S3": "[n, m] -> { S3[j] : 0 <= j < m }",
        "S4": "[n, m] -> { S4[j, i] : 0 <= j < m and 0 <= i < n }",
        "S5": "[n, m] -> { S5[j] : 0 <= j < m }",
    })
    assert_primal(kernel, {"n": 4, "m": 6})


def test_system_headers_and_a_main_using_their_types(tmp_path):
    text = """\
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kernel_softplus(int n, double x[n], double y[n])
{
  for (int i = 0; i < n; i++)
    y[i] = log(1.0 + exp(x[i]));
}

int main(void)
{
  size_t n = 16;
  uint32_t seed = 42u;
  double *x = malloc(n * sizeof *x), *y = calloc(n, sizeof(double));
  assert(x != NULL && y != NULL);
  srand(seed);
  for (size_t i = 0; i < n; i++)
    x[i] = (double)rand() / RAND_MAX;
  memset(y, 0, n * sizeof(double));
  kernel_softplus((int)n, x, y);
  if (isnan(y[0]))
    fprintf(stderr, "nan\\n");
  printf("%f\\n", y[0]);
  free(x);
  free(y);
  return EXIT_SUCCESS;
}
"""
    kernel = parse_file(tmp_path, text, function="kernel_softplus")
    assert_domains(kernel, {"S0": "[n] -> { S0[i] : 0 <= i < n }"})
    assert kernel.statements[0].location.line == 11
    assert_primal(kernel, {"n": 9})


def test_comments_everywhere(tmp_path):
    text = """\
/* a kernel full of comments */
void kernel_commented(int n, /* rows */ double A[n] /* data */, double b[n])
{
  int i; // iterator
#pragma scop
  /* first loop */
  for (i = 0; /* start */ i < n; /* step */ i++) {
    b[i] = /* scale */ 2.0 * A[i /* here */] // line comment
      + /* shift */ 1.0;
    A[i] = /* A[i*i] is not read */ b[i];
  }
#pragma endscop
  /* done */
}
"""
    kernel = parse_file(tmp_path, text)
    assert_domains(kernel, {"S0": "[n] -> { S0[i] : 0 <= i < n }",
                            "S1": "[n] -> { S1[i] : 0 <= i < n }"})
    reads = kernel.statements[0].reads
    assert [(a.location.line, a.location.col) for a in reads] == [(8, 30)]
    assert [a.text for a in kernel.statements[1].reads] == ["b[i]"]
    assert (kernel.statements[1].reads[0].location.line,
            kernel.statements[1].reads[0].location.col) == (10, 37)
    assert_primal(kernel, {"n": 5})


def test_four_dimensional_arrays(tmp_path):
    text = """\
void kernel_4d(int n, int c, int h, int w, double X[n][c][h][w], double Y[n][c][h][w],
               double s[c])
{
  for (int a = 0; a < n; a++)
    for (int b = 0; b < c; b++)
      for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
          Y[a][b][y][x] = X[a][b][y][x] * s[b];
}
"""
    kernel = parse_file(tmp_path, text)
    assert_domains(kernel, {
        "S0": "[n, c, h, w] -> { S0[a, b, y, x] : 0 <= a < n and 0 <= b < c "
              "and 0 <= y < h and 0 <= x < w }"})
    assert kernel.array("X").rank == 4
    assert_primal(kernel, {"n": 2, "c": 3, "h": 4, "w": 5})


def test_char_and_int_arrays_read_as_data(tmp_path):
    text = """\
void kernel_masked(int n, int m, char mask[n], int count[n][m], double x[n][m],
                   double y[n])
{
  for (int i = 0; i < n; i++) {
    y[i] = 0.0;
    for (int j = 0; j < m; j++)
      y[i] += mask[i] * x[i][j] + count[i][j] * 0.5 + (count[i][j] + 1) * mask[i];
  }
}
"""
    kernel = parse_file(tmp_path, text)
    arrays = {a.name: (a.dtype, a.role) for a in kernel.arrays}
    assert arrays["mask"] == ("char", "input") and arrays["count"] == ("int", "input")
    assert_domains(kernel, {
        "S0": "[n, m] -> { S0[i] : 0 <= i < n }",
        "S1": "[n, m] -> { S1[i, j] : 0 <= i < n and 0 <= j < m }"})
    assert_primal(kernel, {"n": 5, "m": 4})


def test_value_selects_and_math_functions(tmp_path):
    text = """\
#include <math.h>
#define min(a, b) ((a) < (b) ? (a) : (b))

void kernel_act(int n, double x[n], double y[n], double z[n])
{
  for (int i = 0; i < n; i++) {
    y[i] = x[i] > 0.0 ? x[i] : 0.01 * x[i];
    z[i] = fabs(x[i] - 1.0) < 0.25 && !(y[i] == 0.0) ? fmax(x[i], y[i])
                                                      : fmin(-x[i], 2.0);
    z[i] += sqrt(x[i]) + pow(x[i], 1.5) + exp(-x[i]) + log(x[i]) + sin(x[i])
            * cos(x[i]) + tan(0.5 * x[i]) + tanh(x[i]);
    y[i] = i < 3 || i >= n - 1 ? y[i] : -y[i];
    z[i] = min(z[i], 4.0 * y[i]);  /* the macro: a select on values */
  }
}
"""
    kernel = parse_file(tmp_path, text)
    assert len(kernel.statements) == 5
    assert_primal(kernel, {"n": 10})


def test_size_t_and_fixed_width_sizes_and_counters(tmp_path):
    """size_t, int64_t and unsigned sizes and counters, as users write them:
    modelled as the integers they hold. Oracles: the original C (primal,
    bitwise) and polyad check's interpreter, finite differences and dot test."""
    text = """\
#include <stddef.h>
#include <stdint.h>

void kernel_sizes(size_t n, int64_t m, double A[n][m], double x[m], double y[n])
{
  for (size_t i = 0; i < n; i++)
    for (int64_t j = 0; j < m; j++)
      y[i] += A[i][j] * x[j] * x[j];
  for (size_t i = n; i > 0; i--)
    y[i - 1] = y[i - 1] * 0.5;
}
"""
    kernel = parse_file(tmp_path, text)
    assert_domains(kernel, {"S0": "[n, m] -> { S0[i, j] : 0 <= i < n and 0 <= j < m }",
                            "S1": "[n, m] -> { S1[i] : 0 < i <= n }"})
    assert_primal(kernel, {"n": 5, "m": 3}, {"n": 1, "m": 7})
    result = polyad.api.check(kernel, {"n": 5, "m": 3})
    assert result["verdict"] == "ok", result["checks"]
