"""Networks of the torch tasks."""
from torch import nn


def fc36(n_in=1024, hidden=64, n_out=36):
    """The course's 1024-64-36 network: sigmoid hidden layer, softmax in the loss."""
    return nn.Sequential(nn.Flatten(), nn.Linear(n_in, hidden), nn.Sigmoid(), nn.Linear(hidden, n_out))


def small_cnn(channels, n_classes, size):
    """A VGG-style CNN for 28-32 px inputs (batch-norm, dropout)."""
    def block(i, o):
        return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]
    feat = (size // 8) ** 2 * 128
    return nn.Sequential(*block(channels, 32), *block(32, 32), nn.MaxPool2d(2),
                         *block(32, 64), *block(64, 64), nn.MaxPool2d(2),
                         *block(64, 128), nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.3),
                         nn.Linear(feat, 256), nn.ReLU(inplace=True), nn.Dropout(0.3), nn.Linear(256, n_classes))


def scratch_flowers(n_classes=17):
    """The seeds' scratch CNN for Flowers 17: 3 conv + 2 fc (with batch-norm)."""
    def block(i, o):
        return [nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(inplace=True), nn.MaxPool2d(2)]
    return nn.Sequential(*block(3, 32), *block(32, 64), *block(64, 128), nn.AdaptiveAvgPool2d(4), nn.Flatten(),
                         nn.Dropout(0.4), nn.Linear(128 * 16, 256), nn.ReLU(inplace=True), nn.Dropout(0.4),
                         nn.Linear(256, n_classes))


def squeezenet_finetune(n_classes=17):
    """torchvision squeezenet1_1 with a new final 1x1 conv classifier for n_classes."""
    from torchvision.models import squeezenet1_1
    net = squeezenet1_1(weights=None)
    net.classifier[1] = nn.Conv2d(512, n_classes, kernel_size=1)
    net.num_classes = n_classes
    return net
