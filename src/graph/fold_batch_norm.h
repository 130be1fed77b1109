// BatchNorm folding: a batch norm whose input is a convolution read by nothing else disappears
// into that convolution: W'[co] = W[co] * s[co], b'[co] = (b[co] - mean[co]) * s[co] + beta[co]
// with s = gamma / sqrt(var + eps). Works per statement for transformed programs. Batch norms
// after anything else (DenseNet's pre-activation norms) stay.
#pragma once

#include "graph/network.h"

namespace nasx {

Network fold_batch_norm(Network net);  // consumes net: weights move, never copy

}  // namespace nasx
