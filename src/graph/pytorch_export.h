// A network as a self-contained PyTorch nn.Module (Python source), for training or deploying it
// elsewhere: `nasx export ARCH.json --pytorch model.py`. The module's state_dict keys are nasx's
// tensor names (conv1.weight, layer1.0.bn1.running_mean, ...), so a weights folder of nasx
// (a checkpoint's weights/, or --save-weights) loads with the generated `load_npy(model, dir)`.
// Single-statement convolutions become nn.Conv2d; split, peeled, row-tiled and group-list
// programs become the generated ConvProgram module, one weight per statement (weight0, ...).
// The file needs only torch (and numpy for load_npy).
#pragma once

#include <string>

#include "graph/network.h"

namespace nasx {

std::string pytorch_module_source(const Network& net);

}  // namespace nasx
