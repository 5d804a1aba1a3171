#!/usr/bin/env bash
# Trains the shipped models from scratch on the real data sets (offline copy in $LATENTLAB_DATA),
# then writes the compact copies that ship in trained/ (float16 weights, no optimizer state).
# Three queues of one CPU thread each (a 2-core machine shares its cores between them).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${LATENTLAB_DATA:?set LATENTLAB_DATA to a folder holding mnist/, fashion-mnist/, frey-face/}"
mkdir -p runs
train() { name=$1; shift; latentlab train --out "runs/$name/model.pt" --threads 1 --no-progress "$@" > "runs/$name.log" 2>&1; }
# Resume with a lower learning rate: the optimizer state and the curves carry on.
decay() { name=$1; epochs=$2; lr=$3; latentlab train --resume "runs/$name/model.pt" --epochs "$epochs" --lr "$lr" \
  --threads 1 --no-progress >> "runs/$name.log" 2>&1; }
(
  # 20-D on the IWAE bound L_5 (issue 13): 100 epochs at 1e-3, 40 at 3e-4, 20 at 1e-4
  train mnist-20d --data mnist --latent-dim 20 --objective iwae --k 5 --epochs 100
  decay mnist-20d 140 3e-4
  decay mnist-20d 160 1e-4
  train mnist-5d --data mnist --latent-dim 5 --epochs 30
  # 50-D on the IWAE bound L_5: 70 epochs at 1e-3, 20 at 3e-4, 10 at 1e-4
  train mnist-50d --data mnist --latent-dim 50 --objective iwae --k 5 --epochs 70
  decay mnist-50d 90 3e-4
  decay mnist-50d 100 1e-4
) &
(
  # 2-D on the IWAE bound L_5, beside the ELBO-trained mnist-2d: 60 epochs at 1e-3, 20 at 3e-4, 10 at 1e-4
  train mnist-2d-iwae --data mnist --latent-dim 2 --objective iwae --k 5 --epochs 60
  decay mnist-2d-iwae 80 3e-4
  decay mnist-2d-iwae 90 1e-4
) &
(
  train mnist-2d --data mnist --latent-dim 2 --epochs 50
  train fashion-2d --data fashion-mnist --latent-dim 2 --epochs 30
  train mnist-10d --data mnist --latent-dim 10 --epochs 30
  train frey-2d --data frey-face --latent-dim 2 --hidden 256 --batch-size 100 --epochs 400 --kl-warmup 100
) &
wait
for name in mnist-2d mnist-2d-iwae mnist-5d mnist-10d mnist-20d mnist-50d fashion-2d frey-2d; do
  latentlab export "runs/$name/model.pt" --out "trained/$name.pt"
done

# Semi-supervised models of issue 12 (MNIST, 100 labels drawn class-balanced with seed 0):
#  - m1m2-mnist: M1 = a 50-D VAE trained 73 epochs on all 50,000 training images (no labels), then M2
#    with a 10-D style z on M1's posterior means, 25 epochs at lr 1e-3, 10 more at 3e-4 and 10 at 1e-4;
#  - m2-2d: M2 on the pixels with a 2-D style z (for the canvas) and a convolutional q(y|x) (two
#    stride-2 convolutions, a dense layer of 256, dropout 0.5 while training), lr 3e-4 with class
#    balance 100, 20 epochs.
latentlab train --data mnist --latent-dim 50 --epochs 73 --out runs/m1-50d/model.pt --threads 1 --no-progress
latentlab train --model m1m2 --m1 runs/m1-50d/model.pt --latent-dim 10 --labels 100 --seed 0 --epochs 25 \
  --out runs/m1m2/model.pt --threads 1 --no-progress
latentlab train --resume runs/m1m2/model.pt --epochs 35 --lr 3e-4 --threads 1 --no-progress
latentlab train --resume runs/m1m2/model.pt --epochs 45 --lr 1e-4 --threads 1 --no-progress
latentlab train --model m2 --latent-dim 2 --labels 100 --seed 0 --epochs 20 --lr 3e-4 --class-balance 100 \
  --classifier-architecture conv --classifier-hidden 256 --classifier-dropout 0.5 \
  --out runs/m2-2d/model.pt --threads 2 --no-progress
latentlab export runs/m1m2/model.pt --out trained/m1m2-mnist.pt
latentlab export runs/m2-2d/model.pt --out trained/m2-2d.pt
python trained/make_semi_cards.py m1m2-mnist m2-2d
