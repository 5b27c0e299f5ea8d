"""Scripts of our own that call timm's factories the way timm's train.py / validate.py do (timm's scripts are not
part of its wheel). The tests write them to a temporary folder and run them with ``timm-augmix run``."""

TRAIN_PY = '''
import argparse, json, os, sys
import torch, timm, timm.optim, timm.loss
from timm.data import AugMixDataset, create_dataset, create_loader, resolve_data_config
from timm.layers import convert_splitbn_model
from timm.loss import JsdCrossEntropy
from timm.utils import CheckpointSaver, ModelEmaV3

parser = argparse.ArgumentParser()
parser.add_argument("data")
parser.add_argument("--model", default="resnet18")
parser.add_argument("--num-classes", type=int, default=None)
parser.add_argument("--aa", default=None)
parser.add_argument("--aug-splits", type=int, default=0)
parser.add_argument("--jsd-loss", action="store_true")
parser.add_argument("--split-bn", action="store_true")
parser.add_argument("--train-crop-mode", default=None)
parser.add_argument("--no-prefetcher", action="store_true")
parser.add_argument("--model-ema", action="store_true")
parser.add_argument("--output", required=True)
parser.add_argument("--exit-code", type=int, default=0)
args = parser.parse_args()

torch.manual_seed(0)
model = timm.create_model(args.model, num_classes=args.num_classes)          # as train.py: create_model(args.model)
data_config = resolve_data_config(vars(args), model=model)
if args.split_bn:
    model = convert_splitbn_model(model, max(args.aug_splits, 2))
model_ema = ModelEmaV3(model, decay=0.5) if args.model_ema else None
dataset = create_dataset("", root=args.data, split="train", is_training=True)
if args.aug_splits > 1:
    dataset = AugMixDataset(dataset, num_splits=args.aug_splits)
loader = create_loader(                                                       # train.py's create_loader arguments
    dataset, input_size=data_config["input_size"], batch_size=4, is_training=True,
    use_prefetcher=not args.no_prefetcher, no_aug=False, re_prob=0.0, scale=[0.08, 1.0], ratio=[3 / 4, 4 / 3],
    hflip=0.5, vflip=0.0, color_jitter=0.4, auto_augment=args.aa, num_aug_splits=args.aug_splits,
    train_crop_mode=args.train_crop_mode, interpolation=data_config["interpolation"], mean=data_config["mean"],
    std=data_config["std"], num_workers=0, device=torch.device("cpu"))
loss_fn = (JsdCrossEntropy(num_splits=args.aug_splits) if args.jsd_loss
           else timm.loss.create_classification_loss("ce"))
optimizer = timm.optim.create_optimizer_v2(model, "sgd", lr=0.01)
model.train()
for images, target in loader:
    if isinstance(images, (list, tuple)):
        images = torch.cat(images)
    loss = loss_fn(model(images), target)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if model_ema is not None:
        model_ema.update(model)
    break
os.makedirs(args.output, exist_ok=True)
saver = CheckpointSaver(model, optimizer, args=args, model_ema=model_ema, checkpoint_dir=args.output,
                        recovery_dir=args.output, max_history=1)
saver.save_checkpoint(epoch=0, metric=0.5)
report = dict(argv=sys.argv, name=__name__, loss=loss.item(), rows=images.shape[0], dtype=str(images.dtype),
              view_means=[float(v.mean()) for v in torch.split(images, 4)],
              transform=repr(dataset.dataset.transform if args.aug_splits > 1 else dataset.transform),
              augmentation=repr(getattr(dataset, "augmentation", None)))
with open(os.path.join(args.output, "report.json"), "w") as f:
    json.dump(report, f)
sys.exit(args.exit_code)
'''

VALIDATE_PY = '''
import argparse, json, sys
import torch, timm, timm.optim, timm.loss
from timm.data import create_dataset, create_loader, resolve_data_config

parser = argparse.ArgumentParser()
parser.add_argument("data")
parser.add_argument("--model", required=True)
parser.add_argument("--pretrained", action="store_true")
parser.add_argument("--report", required=True)
args = parser.parse_args()
model = timm.create_model(args.model, pretrained=args.pretrained).eval()   # as validate.py
data_config = resolve_data_config(vars(args), model=model)
dataset = create_dataset("", root=args.data, split="validation")
loader = create_loader(dataset, input_size=data_config["input_size"], batch_size=4, use_prefetcher=False,
                       interpolation=data_config["interpolation"], mean=data_config["mean"], std=data_config["std"],
                       crop_pct=data_config["crop_pct"], num_workers=0)
correct = total = 0
with torch.no_grad():
    for images, target in loader:
        correct += int((model(images).argmax(1) == target).sum())
        total += len(target)
json.dump(dict(top1=100.0 * correct / total, total=total, num_classes=model.num_classes), open(args.report, "w"))
'''
