/*
 * test_loss_torch.c - the losses on logits against PyTorch
 * (tests/ref/loss_ref.h, from tests/ref/gen_loss.py): CrossEntropyLoss,
 * plain and with class weights, and BCEWithLogitsLoss, plain and
 * class-weighted, in value and in the gradient with respect to the logits,
 * through a network whose identity output layer holds the logits.
 */
#include "testutil.h"
#include "internal.h"

#include "ref/loss_ref.h"

/* A net whose output equals its input: O,O:identity:nobias with W = I.
 * Its dL/dx is dL/dz (the product by the identity matrix is exact). */
static bp_net *pass_through(int O)
{
    char spec[64];
    snprintf(spec, sizeof spec, "%d,%d:identity:nobias", O, O);
    bp_net *net = tu_net(spec);
    float *w = bp_net_weight(net, 0);
    for (int i = 0; i < O; i++)
        for (int k = 0; k < O; k++)
            w[i * O + k] = i == k ? 1.0f : 0.0f;
    return net;
}

static void check(bp_loss loss, int O, const float *z, const float *t, const float *cw,
                  double want, const double *want_grad)
{
    enum { B = LOSS_REF_B };
    bp_net *net = pass_through(O);
    float dz[B * LOSS_REF_O];
    double v;
    bp__net_set_class_weight(net, cw);
    TU_ASSERT_OK(bp_net_forward(net, B, z, NULL));
    TU_ASSERT_OK(bp_net_loss(net, loss, t, 1, &v));
    TU_ASSERT_OK(bp_net_backward(net, dz));
    TU_ASSERT_CLOSE(v, want, 1e-6, 0);
    double worst = 0.0;
    for (int i = 0; i < B * O; i++) {
        double d = fabs(dz[i] - want_grad[i]) / (fabs(want_grad[i]) > 1e-3 ? fabs(want_grad[i]) : 1e-3);
        worst = d > worst ? d : worst;
    }
    if (!(worst <= 1e-6))
        fail_msg("%s%s: gradient differs from PyTorch's by %g (relative, floor 1e-3)",
                 bp_loss_name(loss), cw ? " weighted" : "", worst);
    bp_net_free(net);
}

static void test_cross_entropy(void **state)
{
    (void)state;
    check(BP_LOSS_CCE, LOSS_REF_O, LOSS_REF_Z, LOSS_REF_CLS, NULL, LOSS_REF_CE, LOSS_REF_CE_GRAD);
    check(BP_LOSS_CCE, LOSS_REF_O, LOSS_REF_Z, LOSS_REF_CLS, LOSS_REF_W, LOSS_REF_WCE,
          LOSS_REF_WCE_GRAD);
}

static void test_bce_with_logits(void **state)
{
    (void)state;
    check(BP_LOSS_BCE, 1, LOSS_REF_ZB, LOSS_REF_TB, NULL, LOSS_REF_BCE, LOSS_REF_BCE_GRAD);
    check(BP_LOSS_BCE, 1, LOSS_REF_ZB, LOSS_REF_TB, LOSS_REF_WB, LOSS_REF_WBCE,
          LOSS_REF_WBCE_GRAD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cross_entropy),
        cmocka_unit_test(test_bce_with_logits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
