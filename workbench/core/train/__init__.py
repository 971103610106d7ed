"""Train: swap the regression head for a classifier head, the losses, the learning-rate finder and the trainer."""
